/**
 * 3. Several processes at once (like several OpenCode windows) share one token store and all reach
 * the refresh window at the same moment, against an IdP that rotates refresh tokens (reuse of an old
 * refresh token fails). Each process has many concurrent callers. Goal: 1 refresh grant, 0 failures.
 * Rounds alternate between an instant IdP and one that holds each token request 100 ms (closer to a
 * real IdP, and it widens the race).
 */
import { fileURLToPath } from "node:url";
import type { TokenSet } from "../src/core/ports.js";
import { FileTokenStore } from "../src/store/token-store.js";
import type { PrivateBuild } from "./support/build.js";
import { ROOT } from "./support/build.js";
import { benchIdp, child, deviceLogin, oidcSettings, tempHome } from "./support/fixtures.js";
import { type BenchResult, fmt, log, type Row } from "./support/report.js";
import { median, p95, round } from "./support/stats.js";

const WORKER = fileURLToPath(new URL("./support/storm-worker.mjs", import.meta.url));
const PRESET = "haiilo";

interface WorkerResult {
  ok: number;
  failed: number;
  codes: Record<string, number>;
  tokens: string[];
  refreshCalls: number;
  ms: number;
}

interface Round {
  idpDelayMs: number;
  grants: number;
  idpFailures: number;
  failedCalls: number;
  distinctTokens: number;
  wallMs: number;
  perProcessMs: number[];
  refreshCallsPerProcess: number[];
}

export async function benchMultiProcess(opts: {
  build: PrivateBuild;
  processes: number;
  callers: number;
  rounds: number;
}): Promise<BenchResult> {
  const started = performance.now();
  const home = tempHome("procs");
  const idp = await benchIdp({ rotateRefreshTokens: true });
  const key = { preset: PRESET, issuer: idp.issuer, clientId: idp.clientId };
  const store = new FileTokenStore(home.tokenFile);
  const login = await deviceLogin(oidcSettings(idp));
  await store.transact(key, async () => ({ next: login, result: undefined }));

  const age = () =>
    store.transact(key, async (current) => {
      if (!current) throw new Error("no stored login");
      const now = Date.now();
      const lifetime = current.expiresAt - current.obtainedAt;
      // 60 s before expiry: inside the 300 s refresh skew, so every process must refresh first.
      const next: TokenSet = { ...current, expiresAt: now + 60_000, obtainedAt: now + 60_000 - lifetime };
      return { next, result: undefined };
    });

  const rounds: Round[] = [];
  for (let r = 0; r < opts.rounds * 2; r++) {
    const idpDelayMs = r % 2 === 0 ? 0 : 100;
    await age();
    idp.setFault(idpDelayMs > 0 ? { delayMs: idpDelayMs } : null);
    const env = { PATH: process.env.PATH ?? "", ...home.env };
    const workers = Array.from({ length: opts.processes }, () =>
      child(
        process.execPath,
        [
          WORKER,
          opts.build.engineUrl,
          home.tokenFile,
          idp.issuer,
          idp.clientId,
          PRESET,
          String(opts.callers),
        ],
        env,
        ROOT,
      ),
    );
    await Promise.all(workers.map((w) => w.waitFor(/^ready$/m, "stdout")));
    const grants = idp.counts.refreshGrant;
    const failures = idp.counts.refreshGrantFailures;
    const t0 = performance.now();
    for (const w of workers) w.child.stdin.write("go\n"); // the start barrier
    const results = await Promise.all(
      workers.map(async (w) => {
        const exit = await w.exited;
        const line = exit.stdout.split("\n").find((l) => l.startsWith("{"));
        if (exit.code !== 0 || !line) throw new Error(`worker failed (${exit.code}):\n${exit.stderr}`);
        return JSON.parse(line) as WorkerResult;
      }),
    );
    const wallMs = performance.now() - t0;
    idp.setFault(null);
    rounds.push({
      idpDelayMs,
      grants: idp.counts.refreshGrant - grants,
      idpFailures: idp.counts.refreshGrantFailures - failures,
      failedCalls: results.reduce((n, x) => n + x.failed, 0),
      distinctTokens: new Set(results.flatMap((x) => x.tokens)).size,
      wallMs,
      perProcessMs: results.map((x) => round(x.ms, 1)),
      refreshCallsPerProcess: results.map((x) => x.refreshCalls),
    });
    const last = rounds.at(-1)!;
    log(
      `  [3] idp delay ${idpDelayMs} ms: ${last.grants} grant(s), ${last.failedCalls + last.idpFailures} failure(s), ${Math.round(wallMs)} ms`,
    );
  }

  const grants = rounds.map((r) => r.grants);
  const failures = rounds.reduce((n, r) => n + r.failedCalls + r.idpFailures, 0);
  // In-process time of the slowest process, barrier → every caller has a token (excludes process exit).
  const wall = (delay: number) =>
    rounds.filter((r) => r.idpDelayMs === delay).map((r) => Math.max(...r.perProcessMs));
  const rows: Row[] = [
    {
      bench: "3 processes",
      metric: `refresh grants per storm, ${opts.processes} processes × ${opts.callers} callers (${rounds.length} storms)`,
      value:
        Math.min(...grants) === Math.max(...grants)
          ? `${grants[0]}`
          : `${Math.min(...grants)}–${Math.max(...grants)}`,
      goal: "1",
      ok: grants.every((g) => g === 1),
    },
    {
      bench: "3 processes",
      metric: "failures (failed calls + failed grants at the IdP), all storms",
      value: `${failures}`,
      goal: "0",
      ok: failures === 0,
    },
    {
      bench: "3 processes",
      metric: "distinct tokens per storm (max)",
      value: `${Math.max(...rounds.map((r) => r.distinctTokens))}`,
      goal: "1",
      ok: rounds.every((r) => r.distinctTokens === 1),
    },
    {
      bench: "3 processes",
      metric: "slowest process, barrier → all callers served, IdP instant (median / p95)",
      value: `${fmt.ms(median(wall(0)))} / ${fmt.ms(p95(wall(0)))}`,
    },
    {
      bench: "3 processes",
      metric: "slowest process, barrier → all callers served, IdP +100 ms (median / p95)",
      value: `${fmt.ms(median(wall(100)))} / ${fmt.ms(p95(wall(100)))}`,
    },
  ];
  return {
    id: "processes",
    title: "Refresh storm across processes",
    rows,
    data: {
      processes: opts.processes,
      callersPerProcess: opts.callers,
      // wallMs: seen from the parent, barrier → every worker exited (includes process exit).
      rounds: rounds.map((r) => ({ ...r, wallMs: round(r.wallMs, 1) })),
      idpCounts: { ...idp.counts },
    },
    ms: performance.now() - started,
  };
}
