/**
 * The low items of issue 10 that a person meets at the terminal, through the real CLI (bundled like
 * dist/cli.js) against the sandbox IdP and gateway, with hostile answers injected:
 * L3 absurd token lifetimes, L4 escape sequences and newlines in remote text, L5 a verification URL
 * that is not https, L10 API keys that cannot be sent, L11 arguments the CLI must refuse.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_TOKEN_LIFETIME_S } from "../../src/core/defaults.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun, type Exit, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";
import {
  ageStoredSession,
  sessionKey,
  startTestIdp,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";

const ESC = "\u001b";
/** An email claim that clears the screen and paints a line of its own. */
const EVIL_EMAIL = `alice@example.com${ESC}[2J${ESC}[31m\nLogged in: yes, as root`;
/** A model id that paints a fake row into `models`. */
const EVIL_MODEL = `gpt-evil${ESC}[8m\nhaiiloAi/fake-model\tFake\t1/1\ttools`;

let build: EngineBuild;
let idp: TestIdp;
let gateway: Gateway;
let home: TempHome;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [build, idp] = await Promise.all([
    buildEngine(),
    startTestIdp({ users: { alice: { email: EVIL_EMAIL, name: "Alice" } } }),
  ]);
  gateway = await startGateway({
    issuer: idp.issuer,
    audiences: [idp.audience],
    jwksUri: idp.jwksUri,
    models: [{ id: "gpt-4o" }, { id: EVIL_MODEL }],
  });
  home = tempHome();
  env = {
    PATH: process.env.PATH,
    ...home.env,
    OKTA_ISSUER: idp.issuer,
    OKTA_CLIENT_ID: idp.clientId,
    HAIILO_AI_BASE_URL: gateway.url,
    NO_COLOR: "1",
  };
});
afterAll(async () => {
  await gateway?.close();
  await idp?.close();
  home?.cleanup();
  build?.cleanup();
});

const cli = (...args: string[]): Promise<Exit> =>
  run(process.execPath, [build.cli, ...args], { env, cwd: home.dir });

async function cliWithInput(input: string, ...args: string[]): Promise<Exit> {
  const child = new ChildRun(process.execPath, [build.cli, ...args], { env, cwd: home.dir });
  child.child.stdin.end(input);
  return child.exited;
}

async function deviceLogin(): Promise<Exit> {
  const child = new ChildRun(process.execPath, [build.cli, "login", "--no-browser"], { env, cwd: home.dir });
  const [, url] = await child.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[\w-]+)/);
  await approveDevice(url as string);
  return child.exited;
}

const noEscapes = (exit: Exit) => expect(`${exit.stdout}${exit.stderr}`).not.toContain(ESC);

describe("remote text reaches the terminal plain (L4)", () => {
  it("an email claim and a model id can neither send escapes nor add a line", async () => {
    const login = await deviceLogin();
    expect(login.code, login.stderr).toBe(0);
    noEscapes(login);
    // Each control character became a space: the text stays on the one line it was quoted on.
    expect(login.stderr).toContain("as alice@example.com [2J [31m Logged in: yes, as root.");

    const status = await cli("status");
    expect(status.code, status.stderr).toBe(0);
    noEscapes(status);
    expect(status.stdout.split("\n").filter((l) => l.startsWith("Logged in:"))).toHaveLength(1);

    const json = await cli("status", "--json");
    noEscapes(json);
    expect(JSON.parse(json.stdout).email).toBe(EVIL_EMAIL);

    const models = await cli("models");
    expect(models.code, models.stderr).toBe(0);
    noEscapes(models);
    expect(models.stdout.trim().split("\n")).toEqual([expect.stringMatching(/^haiiloAi\/gpt-4o\t/)]);
  });
});

describe("token lifetimes (L3)", () => {
  it("an expires_in of 1e15 is cut to the longest believed lifetime; status and the next refresh still work", async () => {
    const store = new FileTokenStore(home.tokenFile);
    const key = sessionKey(idp);
    expect(await store.read(key)).toBeDefined();
    const body = JSON.stringify({
      access_token: "opaque-access-token-0123456789",
      token_type: "Bearer",
      expires_in: 1e15,
    });
    idp.setFault({ status: 200, body, endpoints: "token" });
    try {
      for (let round = 0; round < 2; round++) {
        await ageStoredSession(store, key, 2_000);
        const before = Date.now();
        const token = await cli("token");
        expect(token.code, token.stderr).toBe(0);
        expect(token.stdout).toBe("opaque-access-token-0123456789\n");
        const stored = await store.read(key);
        expect(stored?.expiresAt).toBeGreaterThan(before);
        expect(stored?.expiresAt).toBeLessThanOrEqual(Date.now() + MAX_TOKEN_LIFETIME_S * 1000);
        const status = await cli("status", "--json");
        expect(status.code, status.stderr).toBe(0);
        expect(Date.parse(JSON.parse(status.stdout).expiresAt)).toBe(stored?.expiresAt);
      }
    } finally {
      idp.setFault(null);
    }
  });

  it("status still answers for a store written before lifetimes were capped", async () => {
    const store = new FileTokenStore(home.tokenFile);
    await store.transact(sessionKey(idp), async (current) => ({
      next: current ? { ...current, expiresAt: 1e18 } : null,
      result: undefined,
    }));
    const status = await cli("status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("Expires:   unknown");
  });
});

describe("verification URLs (L5)", () => {
  it.each([
    ["javascript:alert(document.cookie)", undefined],
    ["file:///etc/passwd", undefined],
    ["https://login.example/device", "javascript:alert(1)//"],
  ])("refuses verification_uri %s (complete: %s) without printing it", async (uri, complete) => {
    const body = JSON.stringify({
      device_code: "device-code-0123456789",
      user_code: "ABCD-EFGH",
      verification_uri: uri,
      ...(complete && { verification_uri_complete: complete }),
      expires_in: 600,
      interval: 1,
    });
    idp.setFault({ status: 200, body, endpoints: "device" });
    try {
      const login = await cli("login", "--no-browser");
      expect(login.code).toBe(1);
      expect(login.stderr).toContain("(code INSECURE_URL)");
      expect(login.stderr).toContain("it is not shown or opened");
      expect(login.stderr).not.toContain(complete ?? uri);
      expect(login.stderr).not.toContain("ABCD-EFGH");
    } finally {
      idp.setFault(null);
    }
  });
});

describe("API keys (L10)", () => {
  it("a key with a line break, a space or too many characters is API_KEY_INVALID, and is not printed", async () => {
    const cases: Array<[string, string]> = [
      ["sk-live-0123456789\nsecond-line", "line break (at character 19)"],
      ["sk-live 0123456789", "a space"],
      [`sk-${"x".repeat(2000)}`, "at most 1024"],
    ];
    for (const [key, problem] of cases) {
      const login = await cliWithInput(key, "login", "--api-key");
      expect(login.code, key).toBe(1);
      expect(login.stderr).toContain("(code API_KEY_INVALID)");
      expect(login.stderr).toContain(problem);
      expect(login.stderr).not.toContain("0123456789");
    }
  });

  it("a key OpenCode stored with a line break inside gives API_KEY_INVALID, not 'gateway cannot be reached'", async () => {
    const logout = await cli("logout");
    expect(logout.code, logout.stderr).toBe(0);
    const authFile = join(home.env.XDG_DATA_HOME, "opencode", "auth.json");
    mkdirSync(dirname(authFile), { recursive: true });
    writeFileSync(
      authFile,
      JSON.stringify({ haiiloAi: { type: "api", key: "sk-live-0123456789\r\nX-Evil: 1" } }),
    );
    const models = await cli("models");
    expect(models.stderr).toContain("line break");
    expect(models.stderr).not.toContain("cannot be reached");
    expect(models.stderr).not.toContain("0123456789");
  });
});

describe("arguments the CLI refuses (L11)", () => {
  it("help COMMAND prints that command's help", async () => {
    const help = await cli("help", "login");
    const own = await cli("login", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: opencode-oidc login");
    expect(help.stdout).toBe(own.stdout);
    expect((await cli("help", "nonsense")).code).toBe(2);
  });

  it.each([
    [["status", "extra"], 'takes no arguments, but was given "extra"'],
    [["presets", "list", "extra"], "was given extra arguments: extra"],
    [["token", "--preset="], "--preset needs a value"],
    [["status", "--preset", ""], "--preset needs a value"],
  ])("%j is a usage error", async (args, message) => {
    const exit = await cli(...args);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain(message);
    expect(exit.stderr).toContain("(code USAGE)");
    expect(exit.stdout).toBe("");
  });

  it("a lock path that is a regular file fails at once with a clear error", async () => {
    const lock = `${home.tokenFile}.lock`;
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, "not a lock\n");
    const started = performance.now();
    const exit = await cliWithInput("sk-live-0123456789", "login", "--api-key");
    const elapsed = performance.now() - started;
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain("is a file, not a lock folder");
    expect(exit.stderr).toContain("(code STORE_WRITE_FAILED)");
    // On main this took 6.6 s (the lock's retries); a process start is well under 2 s here.
    expect(elapsed).toBeLessThan(2_000);
  });
});
