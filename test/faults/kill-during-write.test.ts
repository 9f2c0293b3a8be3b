/**
 * SIGKILL while the token store is being written: a child (the bundled engine) writes the store in
 * a tight loop and is killed at a random moment, 30 times. After every kill the file must hold the
 * old or the new generation, complete (never torn, never mixed, never moved aside as corrupt), and
 * whatever the killed process left behind (the lock folder, write-file-atomic temp files) must not
 * stop the next process.
 *
 * The lock of a killed holder is only taken over once it is `staleMs` old (STORE_LOCK in
 * src/core/defaults.ts). The loop ages a leftover lock past that (utimes, as if the time had passed)
 * so that 30 rounds stay fast; a separate test measures the real wait once, with the default policy.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STORE_LOCK } from "../../src/core/defaults.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun } from "../support/child-processes.js";
import { buildEngine, type EngineBuild, ROOT } from "../support/engine-build.js";
import { type TempHome, tempHome } from "../support/engine-fixtures.js";
import { FAULT_WORKERS, timed, within } from "../support/faults-fixtures.js";
import { report } from "../support/measure.js";

const KILLS = 30;
const ID = "p|http://127.0.0.1:9|c";
const PAD = 32 * 1024;
/** How far a leftover lock is aged: well past staleMs, so the next process takes it over at once. */
const AGED_MS = 3 * STORE_LOCK.staleMs;

let build: EngineBuild;
const homes: TempHome[] = [];
const children: ChildRun[] = [];

beforeAll(async () => {
  build = await buildEngine();
});
afterAll(() => {
  for (const child of children) child.kill();
  for (const home of homes) home.cleanup();
  build?.cleanup();
});

function writer(home: TempHome, mode: "loop" | "hold" = "loop"): ChildRun {
  const child = new ChildRun(
    process.execPath,
    [FAULT_WORKERS.storeWriter, build.engineUrl, home.tokenFile, mode],
    {
      env: { PATH: process.env.PATH, ...home.env },
      cwd: ROOT,
    },
  );
  children.push(child);
  return child;
}

const acked = (stdout: string): number =>
  Math.max(0, ...[...stdout.matchAll(/^wrote (\d+)$/gm)].map((m) => Number(m[1])));

/** The generation stored in the file, after checking it is one complete, consistent write. */
function storedGeneration(file: string): number {
  const data = JSON.parse(readFileSync(file, "utf8"));
  expect(data.version).toBe(1);
  const entry = data.sessions[ID];
  const [, n, pad] = /^access-(\d+)-(x*)$/.exec(entry.accessToken) ?? [];
  expect(pad?.length).toBe(PAD);
  expect(entry.idToken).toBe(`id-${n}-${"x".repeat(PAD)}`);
  expect(entry.refreshToken).toBe(`refresh-${n}`);
  return Number(n);
}

describe("SIGKILL during token store writes", () => {
  it(`${KILLS} kills at random moments: always the old or the new complete store, and the next process goes on`, async () => {
    const home = tempHome();
    homes.push(home);
    const leftovers = { lock: 0, tempFiles: 0, maxFirstWriteMs: 0 };
    let generation = 0;
    for (let round = 0; round < KILLS; round++) {
      const child = writer(home);
      const { ms } = await timed(within(10_000, child.waitFor(/^wrote \d+$/m, "stdout"), "first write"));
      leftovers.maxFirstWriteMs = Math.max(leftovers.maxFirstWriteMs, Math.round(ms));
      // A random kill point (this timer chooses the moment; nothing waits for anything to finish).
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
      child.kill();
      const exit = await child.exited;
      expect(exit.signal).toBe("SIGKILL");
      expect(exit.stdout).not.toMatch(/^log /m);

      const last = acked(exit.stdout);
      expect(last).toBeGreaterThan(generation);
      const stored = storedGeneration(home.tokenFile);
      // Every printed generation is on disk; at most one more finished before the kill.
      expect([last, last + 1]).toContain(stored);
      generation = stored;

      const files = readdirSync(home.authDir);
      expect(files.filter((f) => f.includes("corrupt"))).toEqual([]);
      leftovers.tempFiles = files.filter((f) => /^tokens\.json\.\d+$/.test(f)).length;
      if (existsSync(`${home.tokenFile}.lock`)) {
        leftovers.lock += 1;
        const past = new Date(Date.now() - AGED_MS);
        utimesSync(`${home.tokenFile}.lock`, past, past);
      }
    }
    report(
      `SIGKILL x${KILLS} during writes: kills that left a lock / temp files left at the end / slowest restart to first write (ms)`,
      leftovers,
    );
    report("SIGKILL: generations written in total", generation);
    expect(generation).toBeGreaterThanOrEqual(KILLS);
  });

  it("a holder killed inside the lock blocks the next process for about staleMs, then the lock is taken over", async () => {
    const home = tempHome();
    homes.push(home);
    mkdirSync(home.authDir, { recursive: true });
    const holder = writer(home, "hold");
    await within(10_000, holder.waitFor(/^holding$/m, "stdout"), "lock held");
    holder.kill();
    await holder.exited;
    const lockAge = Date.now() - statSync(`${home.tokenFile}.lock`).mtimeMs;

    const store = new FileTokenStore(home.tokenFile);
    const key = { preset: "p", issuer: "http://127.0.0.1:9", clientId: "c" };
    const { ms } = await timed(
      store.transact(key, async () => ({
        next: { accessToken: "after-the-kill", tokenType: "bearer", obtainedAt: 0, expiresAt: 1 },
        result: undefined,
      })),
    );
    report(
      `dead lock holder: ms the next process waited for the store lock (default staleMs ${STORE_LOCK.staleMs})`,
      Math.round(ms),
    );
    // Not before the lock is stale (less a second of mtime granularity and scheduling), and not much
    // after: the waiter notices a stale lock within its retry interval.
    expect(ms + lockAge).toBeGreaterThan(STORE_LOCK.staleMs - 1_000);
    expect(ms).toBeLessThan(STORE_LOCK.staleMs + 2_000);
    expect((await store.read(key))?.accessToken).toBe("after-the-kill");
    expect(existsSync(`${home.tokenFile}.lock`)).toBe(false);
  }, 25_000);
});
