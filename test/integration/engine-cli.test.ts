/**
 * A whole login → token → status → refresh → logout run through the real CLI (bundled like dist/cli.js)
 * against the sandbox IdP and gateway, checking that no issued secret leaks into the debug log,
 * stderr, or any stdout but `token`'s.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun, type Exit, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";
import {
  ageStoredSession,
  PRESET,
  sessionKey,
  startTestIdp,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { report } from "../support/measure.js";
import { SecretSet } from "../support/secrets.js";

const RECORDER = pathToFileURL(
  fileURLToPath(new URL("../support/record-oauth-responses.mjs", import.meta.url)),
).href;
const JWT_LINE = /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+\n$/;

let build: EngineBuild;
let idp: TestIdp;
let gateway: Gateway;
let home: TempHome;
let env: NodeJS.ProcessEnv;
let recordFile: string;

beforeAll(async () => {
  [build, idp] = await Promise.all([buildEngine(), startTestIdp({ rotateRefreshTokens: true })]);
  gateway = await startGateway({ issuer: idp.issuer, audiences: [idp.audience], jwksUri: idp.jwksUri });
  home = tempHome();
  recordFile = join(home.dir, "oauth-responses.jsonl");
  env = {
    PATH: process.env.PATH,
    ...home.env,
    OKTA_ISSUER: idp.issuer,
    OKTA_CLIENT_ID: idp.clientId,
    HAIILO_AI_BASE_URL: gateway.url,
    NODE_OPTIONS: `--import=${RECORDER}`,
    ENGINE_TEST_RECORD: recordFile,
    NO_COLOR: "1",
  };
});
afterAll(async () => {
  await gateway?.close();
  await idp?.close();
  home?.cleanup();
  build?.cleanup();
});

/** Runs one CLI command to completion, in the temp home. */
const cli = (...args: string[]): Promise<Exit> =>
  run(process.execPath, [build.cli, ...args], { env, cwd: home.dir });

describe("the CLI end to end", () => {
  it("login → token → status → refresh → logout, and no secret leaks into logs, stderr or stdout", async () => {
    const secrets = new SecretSet();
    const outputs: Array<{
      command: string;
      stream: "stdout" | "stderr";
      text: string;
      allow?: Set<string>;
    }> = [];
    const key = sessionKey(idp);
    const store = new FileTokenStore(home.tokenFile);

    // login: parse the URL from stderr, approve it in the IdP's real pages, wait for exit 0.
    const login = new ChildRun(process.execPath, [build.cli, "login", "--no-browser"], {
      env,
      cwd: home.dir,
    });
    const [, url, userCode] = await login.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=([\w-]+))/);
    await approveDevice(url as string);
    const approvedAt = performance.now();
    const loginExit = await login.exited;
    const loginMs = performance.now() - approvedAt;
    report("CLI login: ms from approval to the login command's exit (token stored)", Math.round(loginMs));
    expect(loginExit.code, loginExit.stderr).toBe(0);
    expect(loginExit.stdout).toBe("");
    expect(loginExit.stderr).toContain(`confirm the code:  ${userCode}`);
    expect(loginExit.stderr).toMatch(/Logged in to .* as alice@example\.com/);
    secrets.add("user_code", userCode);
    secrets.addStore(home.tokenFile);
    // The user code is shown on purpose, in the login command's stderr only.
    outputs.push({
      command: "login",
      stream: "stderr",
      text: loginExit.stderr,
      allow: new Set(["user_code"]),
    });
    outputs.push({ command: "login", stream: "stdout", text: loginExit.stdout });
    const first = await store.read(key);
    expect(first?.refreshToken).toEqual(expect.any(String));

    // token: exactly one line, a JWT, the stored one (fresh, so no refresh).
    const token1 = await cli("token");
    expect(token1.code, token1.stderr).toBe(0);
    expect(token1.stdout).toMatch(JWT_LINE);
    expect(token1.stdout.trim()).toBe(first?.accessToken);
    expect(token1.stderr).toBe("");
    outputs.push({ command: "token", stream: "stderr", text: token1.stderr });

    // status --json: logged in, who, no secret.
    const status = await cli("status", "--json");
    expect(status.code, status.stderr).toBe(0);
    const report1 = JSON.parse(status.stdout);
    expect(report1).toMatchObject({
      loggedIn: true,
      email: "alice@example.com",
      subject: "alice",
      refreshable: true,
      expired: false,
    });
    outputs.push(
      { command: "status", stream: "stdout", text: status.stdout },
      { command: "status", stream: "stderr", text: status.stderr },
    );

    // Force a refresh: the stored token now expires in 2 s (inside the skew window).
    await ageStoredSession(store, key, 2_000);
    const token2 = await cli("token");
    expect(token2.code, token2.stderr).toBe(0);
    expect(token2.stdout).toMatch(JWT_LINE);
    expect(token2.stdout.trim()).not.toBe(first?.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
    expect(idp.counts.refreshGrantFailures).toBe(0);
    const second = await store.read(key);
    expect(second?.accessToken).toBe(token2.stdout.trim());
    expect(second?.refreshToken).not.toBe(first?.refreshToken);
    secrets.addStore(home.tokenFile);
    outputs.push({ command: "token (refresh)", stream: "stderr", text: token2.stderr });
    // The gateway accepts the refreshed token.
    const models = await fetch(`${gateway.url}/models`, {
      headers: { authorization: `Bearer ${token2.stdout.trim()}` },
    });
    expect(models.status).toBe(200);

    // logout: revoked at the IdP, entry deleted.
    const logout = await cli("logout");
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toMatch(/revoked/i);
    expect(idp.counts.revocation).toBe(1);
    expect(await store.read(key)).toBeUndefined();
    outputs.push(
      { command: "logout", stream: "stdout", text: logout.stdout },
      { command: "logout", stream: "stderr", text: logout.stderr },
    );
    const after = await cli("status", "--json");
    expect(JSON.parse(after.stdout)).toMatchObject({ loggedIn: false });
    outputs.push(
      { command: "status after logout", stream: "stdout", text: after.stdout },
      { command: "status after logout", stream: "stderr", text: after.stderr },
    );

    // Every secret the IdP handed out, as recorded inside the CLI processes.
    secrets.addRecordedResponses(recordFile);
    const kinds = secrets.kinds();
    report("CLI run: secrets collected per kind", kinds);
    expect(kinds.device_code).toBeGreaterThanOrEqual(1);
    expect(kinds.user_code).toBeGreaterThanOrEqual(1);
    expect(kinds.access_token).toBeGreaterThanOrEqual(2);
    expect(kinds.refresh_token).toBeGreaterThanOrEqual(2);
    expect(kinds.id_token).toBeGreaterThanOrEqual(1);

    expect(existsSync(home.logFile)).toBe(true);
    const log = readFileSync(home.logFile, "utf8");
    expect(log).toMatch(/access token refreshed/);
    expect(log).toMatch(/logout/);
    const leaks: string[] = secrets.leaksIn(log).map((l) => `debug log: ${l}`);
    for (const o of outputs)
      leaks.push(...secrets.leaksIn(o.text, o.allow).map((l) => `${o.command} ${o.stream}: ${l}`));
    expect(leaks).toEqual([]);
    expect(report1.preset).toBe(PRESET);
  });
});
