/**
 * Four real processes (like four OpenCode windows) share one token store and all need a refresh at
 * the same moment, against an IdP that rotates refresh tokens: one refresh grant, no failure, one token.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TokenSet } from "../../src/core/ports.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun } from "../support/child-processes.js";
import { buildEngine, type EngineBuild, ROOT } from "../support/engine-build.js";
import {
  ageStoredSession,
  PRESET,
  quickLogin,
  sessionKey,
  startTestIdp,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { report } from "../support/measure.js";
import { type SecretService, secretServiceAvailable, startSecretService } from "../support/secret-service.js";

const WORKER = fileURLToPath(new URL("../support/session-worker.mjs", import.meta.url));
const LOCK_HOLDER = fileURLToPath(new URL("../support/lock-holder-worker.mjs", import.meta.url));

interface WorkerResult {
  ok: boolean;
  token?: string;
  code?: string;
  message?: string;
  refreshCalls: number;
  ms?: number;
}

let build: EngineBuild;
const idps: TestIdp[] = [];
const homes: TempHome[] = [];
const children: ChildRun[] = [];

beforeAll(async () => {
  build = await buildEngine();
});
afterAll(async () => {
  for (const child of children) child.kill();
  for (const idp of idps) await idp.close();
  for (const home of homes) home.cleanup();
  build?.cleanup();
});

const keyringUsable = secretServiceAvailable("the four-process refresh race with the OS keyring");

async function raceOfFour(
  kind: "locked" | "naive" | "keyring",
  keyring?: SecretService,
): Promise<{ idp: TestIdp; results: WorkerResult[]; login: TokenSet; store: FileTokenStore; file: string }> {
  const server = await startTestIdp({ rotateRefreshTokens: true });
  idps.push(server);
  const folder = tempHome();
  homes.push(folder);
  const key = sessionKey(server);
  const store = new FileTokenStore(folder.tokenFile);
  const login = await quickLogin(server);
  await store.transact(key, async () => ({ next: login, result: undefined }));
  // Inside the 300 s skew window, 60 s before expiry: every process must refresh before using it.
  await ageStoredSession(store, key, 60_000);
  // Hold each refresh at the IdP a little, so that unlocked peers would overlap for sure.
  server.setFault({ delayMs: 150 });

  const group: ChildRun[] = [];
  for (let i = 0; i < 4; i++) {
    const args = [
      WORKER,
      build.engineUrl,
      folder.tokenFile,
      server.issuer,
      server.clientId,
      PRESET,
      ...(kind === "locked" ? [] : [kind]),
    ];
    const env = { PATH: process.env.PATH, ...folder.env, ...keyring?.env };
    group.push(new ChildRun(process.execPath, args, { env, cwd: ROOT }));
  }
  children.push(...group);
  await Promise.all(group.map((c) => c.waitFor(/^ready$/m, "stdout")));
  for (const child of group) child.child.stdin.write("go\n"); // the start barrier
  const results = await Promise.all(
    group.map(async (c) => {
      const exit = await c.exited;
      expect(exit.code, exit.stderr).toBe(0);
      const line = exit.stdout.split("\n").find((l) => l.startsWith("{"));
      return JSON.parse(line ?? "{}") as WorkerResult;
    }),
  );
  server.setFault(null);
  return { idp: server, results, login, store, file: folder.tokenFile };
}

describe("several processes sharing one token store", () => {
  it("4 processes needing a refresh at once: 1 refresh grant, no failure, all get the same new token", async () => {
    const { idp, results, login, store } = await raceOfFour("locked");
    report("4 processes, one store file: refresh grants at the IdP", idp.counts.refreshGrant);
    report(
      "4 processes: refresh calls per process",
      results.map((r) => r.refreshCalls),
    );
    report(
      "4 processes: ms from barrier to token per process",
      results.map((r) => Math.round(r.ms ?? -1)),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    expect(idp.counts.refreshGrant).toBe(1);
    expect(idp.counts.refreshGrantFailures).toBe(0);
    expect(results.reduce((n, r) => n + r.refreshCalls, 0)).toBe(1);
    const tokens = new Set(results.map((r) => r.token));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(login.accessToken);
    const stored = await store.read(sessionKey(idp));
    expect(stored?.accessToken).toBe([...tokens][0]);
    expect(stored?.refreshToken).not.toBe(login.refreshToken);
  });

  it("control: the same race with a naive store (no lock, no re-read) makes the IdP see reuse and end the login", async () => {
    const { idp, results } = await raceOfFour("naive");
    report("control, 4 naive processes: refresh grants / failures at the IdP", {
      refreshGrant: idp.counts.refreshGrant,
      failures: idp.counts.refreshGrantFailures,
      outcomes: results.map((r) => (r.ok ? "token" : r.code)),
    });
    expect(idp.counts.refreshGrant).toBeGreaterThan(1);
    expect(idp.counts.refreshGrantFailures).toBeGreaterThan(0);
    expect(results.some((r) => r.code === "SESSION_ENDED")).toBe(true);
  });

  it.runIf(keyringUsable)(
    "4 processes with the store in the OS keyring (a real Secret Service): they move it there, then 1 refresh grant, one token",
    async () => {
      const keyring = await startSecretService();
      const previous = process.env.DBUS_SESSION_BUS_ADDRESS;
      try {
        // The login starts in the plain file; the first process to take the lock encrypts it.
        const { idp, results, login, file } = await raceOfFour("keyring", keyring);
        report("4 processes, store in the keyring: refresh grants at the IdP", idp.counts.refreshGrant);
        expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
        expect(idp.counts.refreshGrant).toBe(1);
        expect(idp.counts.refreshGrantFailures).toBe(0);
        const tokens = new Set(results.map((r) => r.token));
        expect(tokens.size).toBe(1);
        expect([...tokens][0]).not.toBe(login.accessToken);
        // On disk only ciphertext; the key is in the Secret Service, and it opens the new token.
        const text = readFileSync(file, "utf8");
        expect(JSON.parse(text)).toMatchObject({ version: 1, sealed: { alg: "A256GCM" } });
        expect(text).not.toContain("accessToken");
        expect(await keyring.lookup("opencode-oidc", file)).toMatch(/^[A-Za-z0-9+/]{43}=$/);
        process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
        const stored = await new FileTokenStore(file, undefined, { mode: "keyring" }).read(sessionKey(idp));
        expect(stored?.accessToken).toBe([...tokens][0]);
      } finally {
        if (previous === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
        else process.env.DBUS_SESSION_BUS_ADDRESS = previous;
        await keyring.stop();
      }
    },
    60_000,
  );

  it("a process whose store lock is taken away (stale takeover, or a user deleting the .lock folder) does not crash", async () => {
    const folder = tempHome();
    homes.push(folder);
    mkdirSync(folder.authDir, { recursive: true });
    const holder = new ChildRun(process.execPath, [LOCK_HOLDER, build.engineUrl, folder.tokenFile], {
      env: { PATH: process.env.PATH, ...folder.env },
      cwd: ROOT,
    });
    children.push(holder);
    await holder.waitFor(/^holding$/m, "stdout");
    // What another process does when it judges the lock stale, and what the LOCK_TIMEOUT hint tells users to do.
    rmSync(`${folder.tokenFile}.lock`, { recursive: true });
    // The holder notices at its next lock update (1 s with staleMs 2000): it must say so, not die.
    const noticed = await Promise.race([
      holder.waitFor(/^log warn .*lock/im, "stdout").then(() => "warned"),
      holder.exited.then(() => "exited"),
    ]);
    holder.child.stdin.write("go\n");
    const exit = await holder.exited;
    expect(exit.stderr).not.toMatch(/ECOMPROMISED|Unable to update lock/);
    expect({ noticed, code: exit.code }).toEqual({ noticed: "warned", code: 0 });
    expect(exit.stdout).toMatch(/^\{"ok":/m);
  });
});
