/**
 * The leak test for the new grants, through the real CLI (bundled like dist/cli.js) against the
 * sandbox: a browser login (its authorization code and PKCE verifier), then every machine identity
 * (client secret, private key, client assertion, subject token) with `token` and `status`, and a
 * wrong secret. Every secret sent or received, as recorded inside the CLI processes, must be absent
 * from the debug log, stderr, and any stdout but `token`'s access token.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveAuthorization } from "../../src/sandbox/approve.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { ChildRun, type Exit, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";
import { startTestIdp, type TempHome, tempHome } from "../support/engine-fixtures.js";
import { report } from "../support/measure.js";
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
  recordFile = join(home.dir, "oauth-exchanges.jsonl");
  const configDir = join(home.env.XDG_CONFIG_HOME, "opencode-oidc");
  await import("node:fs").then((fs) => fs.mkdirSync(configDir, { recursive: true }));
  // The browser login on, with any free port (the sandbox IdP allows any loopback port).
  writeFileSync(
    join(configDir, "config.json"),
    JSON.stringify({ presets: [{ id: "haiilo", auth: { browser: { enabled: true, ports: [] } } }] }),
  );
  env = {
    PATH: process.env.PATH,
    ...home.env,
    OKTA_ISSUER: idp.issuer,
    OKTA_CLIENT_ID: idp.clientId,
    HAIILO_AI_BASE_URL: "http://127.0.0.1:9/v1",
    OPENCODE_OIDC_NO_BROWSER: "1",
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

const cli = (extra: NodeJS.ProcessEnv, ...args: string[]): Promise<Exit> =>
  run(process.execPath, [build.cli, ...args], { env: { ...env, ...extra }, cwd: home.dir });

describe("no secret of the new grants leaks", () => {
  it("browser login, each machine identity, a wrong secret: nothing secret in logs, stderr or stdout", async () => {
    const secrets = new SecretSet();
    const outputs: Array<{ command: string; text: string; allow?: Set<string> }> = [];
    const keep = (command: string, exit: Exit, allow?: Set<string>) => {
      outputs.push({ command: `${command} stderr`, text: exit.stderr });
      outputs.push({ command: `${command} stdout`, text: exit.stdout, ...(allow && { allow }) });
    };

    // Browser login: the CLI listens on loopback; the IdP's pages are driven by the approver and the
    // redirect lands on the listener, as a browser's would.
    const login = new ChildRun(process.execPath, [build.cli, "login", "--method", "browser"], {
      env,
      cwd: home.dir,
    });
    const [, url] = await login.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m);
    const redirect = await approveAuthorization(url as string);
    const landed = await fetch(redirect);
    expect(landed.status).toBe(200);
    const loginExit = await login.exited;
    expect(loginExit.code, loginExit.stderr).toBe(0);
    keep("login --method browser", loginExit);
    keep("token (login)", await cli({}, "token"), new Set(["access_token", "accessToken"]));
    keep("status (login)", await cli({}, "status"));

    // Every machine identity.
    const { secretBasic, privateKeyJwt, assertion, exchange } = idp.machine;
    const file = (name: string, content: string) => {
      const path = join(home.dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    secrets.add("private_key", privateKeyJwt.privateKeyPem.split("\n")[1]);
    const identities: Array<[string, NodeJS.ProcessEnv]> = [
      [
        "secret",
        {
          OPENCODE_OIDC_CLIENT_ID: secretBasic.clientId,
          OPENCODE_OIDC_CLIENT_SECRET: secretBasic.clientSecret,
        },
      ],
      [
        "private key",
        {
          OPENCODE_OIDC_CLIENT_ID: privateKeyJwt.clientId,
          OPENCODE_OIDC_PRIVATE_KEY_FILE: file("key.pem", privateKeyJwt.privateKeyPem),
        },
      ],
      [
        "assertion",
        {
          OPENCODE_OIDC_CLIENT_ID: assertion.clientId,
          OPENCODE_OIDC_CLIENT_ASSERTION_FILE: file("a.jwt", await assertion.mint()),
        },
      ],
      [
        "subject token",
        {
          OPENCODE_OIDC_CLIENT_ID: exchange.clientId,
          OPENCODE_OIDC_SUBJECT_TOKEN_FILE: file("s.jwt", await exchange.mintSubjectToken()),
        },
      ],
    ];
    for (const [name, extra] of identities) {
      const token = await cli(extra, "token");
      expect(token.code, token.stderr).toBe(0);
      keep(`token (${name})`, token, new Set(["access_token", "accessToken"]));
      keep(`status (${name})`, await cli(extra, "status", "--json"));
    }
    const wrong = "this-is-not-the-secret";
    secrets.add("client_secret", wrong);
    const wrongEnv = { OPENCODE_OIDC_CLIENT_ID: secretBasic.clientId, OPENCODE_OIDC_CLIENT_SECRET: wrong };
    // The cached machine token of that client would still answer: logout forgets it (and the login).
    const logout = await cli(wrongEnv, "logout");
    expect(logout.stderr).toContain("Deleted the machine identity's token");
    keep("logout", logout);
    const rejected = await cli(wrongEnv, "token");
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain("OPENCODE_OIDC_CLIENT_SECRET");
    keep("token (wrong secret)", rejected);

    secrets.addRecordedRequests(recordFile);
    secrets.addRecordedResponses(recordFile);
    secrets.addStore(home.tokenFile);
    const kinds = secrets.kinds();
    report("CLI grants run: secrets collected per kind", kinds);
    for (const kind of [
      "code",
      "code_verifier",
      "client_secret",
      "client_assertion",
      "subject_token",
      "access_token",
      "id_token",
    ])
      expect(kinds[kind], kind).toBeGreaterThanOrEqual(1);

    const log = readFileSync(home.logFile, "utf8");
    expect(log).toMatch(/machine token obtained/);
    const leaks = secrets.leaksIn(log).map((l) => `debug log: ${l}`);
    for (const o of outputs) leaks.push(...secrets.leaksIn(o.text, o.allow).map((l) => `${o.command}: ${l}`));
    const store = readFileSync(home.tokenFile, "utf8");
    leaks.push(
      ...secrets
        .leaksIn(
          store,
          new Set(["access_token", "refresh_token", "id_token", "accessToken", "refreshToken", "idToken"]),
        )
        .map((l) => `token store: ${l}`),
    );
    expect(leaks).toEqual([]);
  });
});
