/**
 * Soak: 4 real processes (the bundled engine) share one token store against an IdP that rotates
 * refresh tokens, and keep forcing refreshes (each reports its current token rejected, as the
 * provider fetch does after a gateway 401) until the IdP has answered at least 200 refresh grants.
 * Nothing may be lost: no SESSION_ENDED or other error in any process, no invalid_grant at the IdP,
 * and exactly one refresh grant per new token generation (no duplicate refresh of one generation).
 * engine-multiprocess.test.ts proves the single race (4 processes, 1 grant); this proves it holds
 * over hundreds of cycles.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshTokens } from "../../src/core/oauth/refresh.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun } from "../support/child-processes.js";
import { buildEngine, type EngineBuild, ROOT } from "../support/engine-build.js";
import {
  oidcSettings,
  PRESET,
  quickLogin,
  sessionKey,
  startTestIdp,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { eventCounter, FAULT_WORKERS, lastJsonLine, timed, within } from "../support/faults-fixtures.js";
import { report } from "../support/measure.js";

const PROCESSES = 4;
const TARGET_CYCLES = 200;

interface SoakResult {
  rounds: number;
  refreshCalls: number;
  tokens: string[];
  errors: Array<{ code?: string; message: string }>;
}

let build: EngineBuild;
let idp: TestIdp;
let home: TempHome;
const children: ChildRun[] = [];
const grants = eventCounter(TARGET_CYCLES);

beforeAll(async () => {
  [build, idp] = await Promise.all([
    buildEngine(),
    startTestIdp({
      rotateRefreshTokens: true,
      log: (line) => {
        if (line.includes("grant_type=refresh_token")) grants.hit();
      },
    }),
  ]);
  home = tempHome();
});
afterAll(async () => {
  for (const child of children) child.kill();
  await idp?.close();
  home?.cleanup();
  build?.cleanup();
});

describe("soak: 4 processes, one store, a rotating IdP", () => {
  it(`at least ${TARGET_CYCLES} refresh cycles: no lost session, no invalid_grant, one grant per cycle`, async () => {
    const key = sessionKey(idp);
    const store = new FileTokenStore(home.tokenFile);
    const login = await quickLogin(idp);
    await store.transact(key, async () => ({ next: login, result: undefined }));

    const group = Array.from(
      { length: PROCESSES },
      () =>
        new ChildRun(
          process.execPath,
          [FAULT_WORKERS.soak, build.engineUrl, home.tokenFile, idp.issuer, idp.clientId, PRESET],
          { env: { PATH: process.env.PATH, ...home.env }, cwd: ROOT },
        ),
    );
    children.push(...group);
    await Promise.all(group.map((c) => within(10_000, c.waitFor(/^ready$/m, "stdout"), "worker ready")));
    for (const child of group) child.child.stdin.write("go\n");

    // Until the IdP has answered TARGET_CYCLES refresh grants (or a worker gave up), bounded.
    const anyExit = Promise.race(group.map((c) => c.exited));
    const { ms } = await timed(within(35_000, Promise.race([grants.reached, anyExit]), "soak"));
    for (const child of group) child.child.stdin.write("stop\n");
    const results = await Promise.all(
      group.map(async (c) => {
        const exit = await within(10_000, c.exited, "worker exit");
        expect(exit.code, exit.stderr).toBe(0);
        return lastJsonLine<SoakResult>(exit.stdout);
      }),
    );

    const initial = createHash("sha256").update(login.accessToken).digest("hex").slice(0, 16);
    const generations = new Set(results.flatMap((r) => r.tokens));
    generations.delete(initial);
    const cycles = generations.size;
    const refreshCalls = results.reduce((n, r) => n + r.refreshCalls, 0);
    const figures = {
      processes: PROCESSES,
      cycles,
      refreshGrant: idp.counts.refreshGrant,
      refreshGrantFailures: idp.counts.refreshGrantFailures,
      refreshCallsPerProcess: results.map((r) => r.refreshCalls),
      roundsPerProcess: results.map((r) => r.rounds),
      errors: results.flatMap((r) => r.errors),
      seconds: Number((ms / 1000).toFixed(1)),
      cyclesPerSecond: Math.round(cycles / (ms / 1000)),
    };
    report("soak (4 processes, rotating IdP, forced refreshes)", figures);

    expect(figures.errors).toEqual([]);
    expect(idp.counts.refreshGrantFailures).toBe(0);
    expect(cycles).toBeGreaterThanOrEqual(TARGET_CYCLES);
    expect(idp.counts.refreshGrant).toBe(cycles);
    expect(refreshCalls).toBe(cycles);
    // Every process got tokens (the lock is not fair: how the refreshes split between them varies).
    for (const r of results) expect(r.rounds).toBeGreaterThan(0);

    // The login survives: the stored refresh token is the live one.
    const stored = await store.read(key);
    if (!stored) throw new Error("the session is gone");
    const after = await refreshTokens(oidcSettings(idp), stored);
    expect(after.accessToken).not.toBe(stored.accessToken);
    expect(idp.counts.refreshGrantFailures).toBe(0);
  }, 60_000);
});
