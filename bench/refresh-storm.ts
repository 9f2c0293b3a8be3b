/**
 * 2. Refresh storm in one process: 1,000 concurrent `getAccessToken()` calls at the moment the token
 * needs renewal. Goal: one refresh grant at the IdP per storm, no failure, one token for everyone.
 * Two shapes, alternated: a warm process whose in-memory token reaches the refresh window (a manual
 * clock jumps to 60 s before expiry), and a fresh process (empty memory) whose stored token is there.
 */
import type { Clock } from "../src/core/ports.js";
import { resolveTenants } from "../src/tenant/resolve-tenants.js";
import { Tenant } from "../src/tenant/tenant.js";
import { benchIdp, deviceLogin, presetEnv, tempHome } from "./support/fixtures.js";
import { type BenchResult, fmt, log, type Row } from "./support/report.js";
import { median, p95, round, summary } from "./support/stats.js";

interface Storm {
  shape: "warm" | "fresh";
  grants: number;
  idpFailures: number;
  rejected: number;
  tokens: number;
  wallMs: number;
  refreshCalls: number;
}

export async function benchRefreshStorm(opts: { callers: number; rounds: number }): Promise<BenchResult> {
  const started = performance.now();
  const home = tempHome("storm");
  const idp = await benchIdp({ rotateRefreshTokens: true });
  const env = { ...home.env, ...presetEnv(idp, "http://127.0.0.1:9/v1") };
  const { primary } = await resolveTenants({ cwd: home.projectDir }, { env });
  if (!primary) throw new Error("no preset resolved");
  await primary.session().save(await deviceLogin(primary.requireOidc()));

  // One clock for the whole benchmark; it only moves forward (the IdP keeps real time).
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };
  const toRefreshWindow = async () => {
    const stored = await primary.store.read(primary.sessionKey);
    if (!stored) throw new Error("no stored login");
    offset += stored.expiresAt - 60_000 - clock.now(); // 60 s left: inside the 300 s skew, still valid
  };
  let warm = new Tenant(primary.resolved, { env, clock });
  await warm.session().getAccessToken();

  const storms: Storm[] = [];
  for (let i = 0; i < opts.rounds * 2; i++) {
    const shape = i % 2 === 0 ? "warm" : "fresh";
    await toRefreshWindow();
    const rt = shape === "warm" ? warm : new Tenant(primary.resolved, { env, clock });
    const session = rt.session();
    const grants = idp.counts.refreshGrant;
    const failures = idp.counts.refreshGrantFailures;
    const calls = session.refreshCalls;
    const t0 = performance.now();
    const settled = await Promise.allSettled(
      Array.from({ length: opts.callers }, () => session.getAccessToken()),
    );
    const wallMs = performance.now() - t0;
    const ok = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    storms.push({
      shape,
      grants: idp.counts.refreshGrant - grants,
      idpFailures: idp.counts.refreshGrantFailures - failures,
      rejected: settled.length - ok.length,
      tokens: new Set(ok).size,
      wallMs,
      refreshCalls: session.refreshCalls - calls,
    });
    if (shape === "fresh") warm = rt;
    log(`  [2] ${shape}: ${storms.at(-1)?.grants} grant(s), ${Math.round(wallMs)} ms`);
  }

  const of = (shape: Storm["shape"]) => storms.filter((s) => s.shape === shape);
  const worstGrants = Math.max(...storms.map((s) => s.grants));
  const minGrants = Math.min(...storms.map((s) => s.grants));
  const failures = storms.reduce((n, s) => n + s.rejected + s.idpFailures, 0);
  const rows: Row[] = [
    {
      bench: "2 storm",
      metric: `refresh grants per storm of ${opts.callers} callers (${storms.length} storms)`,
      value: minGrants === worstGrants ? `${worstGrants}` : `${minGrants}–${worstGrants}`,
      goal: "1",
      ok: minGrants === 1 && worstGrants === 1,
    },
    {
      bench: "2 storm",
      metric: "failed calls / distinct tokens per storm",
      value: `${failures} / ${Math.max(...storms.map((s) => s.tokens))}`,
      goal: "0 / 1",
      ok: failures === 0 && storms.every((s) => s.tokens === 1),
    },
    {
      bench: "2 storm",
      metric: "wall time, warm process (median / p95)",
      value: `${fmt.ms(median(of("warm").map((s) => s.wallMs)))} / ${fmt.ms(p95(of("warm").map((s) => s.wallMs)))}`,
    },
    {
      bench: "2 storm",
      metric: "wall time, fresh process (median / p95)",
      value: `${fmt.ms(median(of("fresh").map((s) => s.wallMs)))} / ${fmt.ms(p95(of("fresh").map((s) => s.wallMs)))}`,
    },
  ];
  return {
    id: "storm",
    title: "Refresh storm in one process",
    rows,
    data: {
      callers: opts.callers,
      storms: storms.map((s) => ({ ...s, wallMs: round(s.wallMs) })),
      wallMsWarm: summary(of("warm").map((s) => s.wallMs)),
      wallMsFresh: summary(of("fresh").map((s) => s.wallMs)),
      idpCounts: { ...idp.counts },
    },
    ms: performance.now() - started,
  };
}
