/**
 * M1 (issue 10): an IdP that echoes the request in `error_description` must not get the refresh
 * token or the device code onto stderr, into the debug log, or into the 401 body OpenCode shows.
 * Real CLI (bundled like dist/cli.js) and the real sandbox IdP, whose token and revocation endpoints
 * are switched to echoing once the login is made.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerFetch } from "../../src/opencode/provider-fetch.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { resolveTenants } from "../../src/tenant/resolve-tenants.js";
import { ChildRun, type Exit, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";
import {
  ageStoredSession,
  sessionKey,
  startTestIdp,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { SecretSet } from "../support/secrets.js";

const RECORDER = pathToFileURL(
  fileURLToPath(new URL("../support/record-oauth-responses.mjs", import.meta.url)),
).href;

let build: EngineBuild;
let idp: TestIdp;
let home: TempHome;
let env: NodeJS.ProcessEnv;
let recordFile: string;

beforeAll(async () => {
  [build, idp] = await Promise.all([buildEngine(), startTestIdp()]);
  home = tempHome();
  recordFile = join(home.dir, "oauth-responses.jsonl");
  env = {
    PATH: process.env.PATH,
    ...home.env,
    OKTA_ISSUER: idp.issuer,
    OKTA_CLIENT_ID: idp.clientId,
    // Never contacted: the refresh fails before any model request.
    HAIILO_AI_BASE_URL: "http://127.0.0.1:9/v1",
    NODE_OPTIONS: `--import=${RECORDER}`,
    ENGINE_TEST_RECORD: recordFile,
    NO_COLOR: "1",
  };
});
afterAll(async () => {
  await idp?.close();
  home?.cleanup();
  build?.cleanup();
});

const cli = (...args: string[]): Promise<Exit> =>
  run(process.execPath, [build.cli, ...args], { env, cwd: home.dir });

async function login(): Promise<ChildRun> {
  const child = new ChildRun(process.execPath, [build.cli, "login", "--no-browser"], { env, cwd: home.dir });
  const [, url] = await child.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[\w-]+)/);
  await approveDevice(url as string);
  return child;
}

describe("text an IdP echoes back (M1)", () => {
  it("keeps the refresh token and the device code out of stderr, the log and the 401 body", async () => {
    const secrets = new SecretSet();
    const key = sessionKey(idp);
    const store = new FileTokenStore(home.tokenFile);
    const outputs: Array<{ what: string; text: string }> = [];

    const first = await (await login()).exited;
    expect(first.code, first.stderr).toBe(0);
    secrets.addStore(home.tokenFile);
    expect(secrets.kinds().refreshToken).toBe(1);

    // A refresh the IdP answers with the request (refresh_token=…) in error_description.
    idp.setFault({ echo: true, endpoints: "token" });
    await ageStoredSession(store, key, 2_000);
    const token = await cli("token");
    expect(token.code).toBe(1);
    expect(token.stdout).toBe("");
    expect(token.stderr).toContain("could not process the request");
    expect(token.stderr).toContain("(code IDP_REJECTED)");
    outputs.push({ what: "token stderr", text: token.stderr });

    // The same refresh from the provider fetch: the answer OpenCode shows is a 401 with the message.
    const { primary: tenant } = await resolveTenants({ cwd: home.dir }, { env });
    if (!tenant) throw new Error("no preset resolved");
    const response = await providerFetch(tenant, "oauth")("http://127.0.0.1:9/v1/chat/completions", {
      method: "POST",
      body: "{}",
    });
    expect(response.status).toBe(401);
    const body = await response.text();
    expect(body).toContain("could not process the request");
    outputs.push({ what: "provider fetch 401 body", text: body });

    // Logout whose revocation request is echoed.
    idp.setFault({ echo: true, endpoints: "revocation" });
    const logout = await cli("logout");
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toContain("not revoked");
    outputs.push({ what: "logout stderr", text: logout.stderr });

    // A device login whose token polls are echoed (device_code=…).
    idp.setFault({ echo: true, endpoints: "token" });
    const second = await (await login()).exited;
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("could not process the request");
    // The user code is shown on purpose, before the failure.
    outputs.push({ what: "failed login stderr", text: second.stderr.split("Waiting for approval")[1] ?? "" });
    idp.setFault(null);

    secrets.addRecordedResponses(recordFile);
    expect(secrets.kinds().device_code).toBe(2);
    expect(existsSync(home.logFile)).toBe(true);
    outputs.push({ what: "debug log", text: readFileSync(home.logFile, "utf8") });
    const leaks = outputs.flatMap((o) => secrets.leaksIn(o.text).map((l) => `${o.what}: ${l}`));
    expect(leaks).toEqual([]);
  });
});
