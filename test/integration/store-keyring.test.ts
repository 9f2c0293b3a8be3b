/**
 * The token store in the OS keyring, from the user's side: the real CLI (bundled like dist/cli.js)
 * against the sandbox IdP, with a real gnome-keyring Secret Service on a private D-Bus. With the
 * keyring the store file holds only ciphertext and the key is in the Secret Service; `auto` uses the
 * keyring when it answers and the plain file when none does; a login moves between the two, both
 * ways, without losing anything; without a usable keyring `keyring` refuses clearly, before approval.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveDevice } from "../../src/sandbox/approve.js";
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
import { report } from "../support/measure.js";
import { type SecretService, secretServiceAvailable, startSecretService } from "../support/secret-service.js";

const RECORDER = pathToFileURL(
  fileURLToPath(new URL("../support/record-oauth-responses.mjs", import.meta.url)),
).href;
const usable = secretServiceAvailable("the OS keyring tests of the token store");

let build: EngineBuild;
let idp: TestIdp;
let keyring: SecretService;
const homes: TempHome[] = [];

beforeAll(async () => {
  if (!usable) return;
  [build, idp, keyring] = await Promise.all([
    buildEngine(),
    startTestIdp({ rotateRefreshTokens: true }),
    startSecretService(),
  ]);
}, 120_000);
afterAll(async () => {
  await keyring?.stop();
  await idp?.close();
  for (const home of homes) home.cleanup();
  build?.cleanup();
});

type Store = "auto" | "keyring" | "file";

function newHome(): TempHome {
  const home = tempHome();
  homes.push(home);
  return home;
}

/** The CLI's environment: the temp home, the sandbox IdP, a token-store setting, and the keyring's bus or none. */
function cliEnv(
  home: TempHome,
  store: Store | undefined,
  withKeyring: boolean,
  extra: Record<string, string> = {},
) {
  return {
    PATH: process.env.PATH,
    ...home.env,
    OKTA_ISSUER: idp.issuer,
    OKTA_CLIENT_ID: idp.clientId,
    HAIILO_AI_BASE_URL: "http://127.0.0.1:9/v1",
    NO_COLOR: "1",
    ...(store && { OPENCODE_OIDC_TOKEN_STORE: store }),
    ...(withKeyring && keyring.env),
    ...extra,
  };
}

const cli = (
  home: TempHome,
  store: Store | undefined,
  withKeyring: boolean,
  ...args: string[]
): Promise<Exit> =>
  run(process.execPath, [build.cli, ...args], { env: cliEnv(home, store, withKeyring), cwd: home.dir });

/** `opencode-oidc login --no-browser`, approved in the IdP's pages; the issued tokens recorded. */
async function cliLogin(home: TempHome, store: Store | undefined, withKeyring: boolean) {
  const record = join(home.dir, "oauth-responses.jsonl");
  const env = cliEnv(home, store, withKeyring, {
    NODE_OPTIONS: `--import=${RECORDER}`,
    ENGINE_TEST_RECORD: record,
  });
  const child = new ChildRun(process.execPath, [build.cli, "login", "--no-browser"], { env, cwd: home.dir });
  const [, url] = await child.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[\w-]+)/);
  await approveDevice(url as string);
  const exit = await child.exited;
  expect(exit.code, exit.stderr).toBe(0);
  const issued = readFileSync(record, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse((JSON.parse(line) as { body: string }).body) as Record<string, string>;
      } catch {
        return {};
      }
    })
    .find((body) => body.access_token);
  return { exit, issued: issued as { access_token: string; refresh_token: string; id_token: string } };
}

const status = async (home: TempHome, store: Store | undefined, withKeyring: boolean) => {
  const exit = await cli(home, store, withKeyring, "status", "--json");
  expect(exit.code, exit.stderr).toBe(0);
  return JSON.parse(exit.stdout);
};

/** Every file below `dir`, for "nothing readable lands on disk". */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe.runIf(usable)("the token store in the OS keyring (gnome-keyring on a private D-Bus)", () => {
  it("keyring: after a CLI login the file holds only ciphertext, `secret-tool lookup` finds the key, no token is on disk", async () => {
    const home = newHome();
    const { exit, issued } = await cliLogin(home, "keyring", true);
    expect(exit.stderr).toContain(
      `Tokens stored in ${home.tokenFile}, encrypted with a key kept in the Secret Service.`,
    );

    const text = readFileSync(home.tokenFile, "utf8");
    expect(JSON.parse(text)).toMatchObject({
      version: 1,
      sealed: { alg: "A256GCM", keyring: { service: "opencode-oidc", account: home.tokenFile } },
    });
    expect(statSync(home.tokenFile).mode & 0o777).toBe(0o600);
    const key = await keyring.lookup("opencode-oidc", home.tokenFile);
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // No token, and not the key, in any file of the home (store, log, auth.json) or of the keyring's folder.
    const secrets = [issued.access_token, issued.refresh_token, issued.id_token, key as string];
    for (const file of [...filesBelow(home.dir), ...filesBelow(keyring.dataDir)]) {
      if (file.endsWith("oauth-responses.jsonl")) continue; // the test's own record of what the IdP sent
      const content = readFileSync(file, "latin1");
      for (const secret of secrets) expect(content.includes(secret), `${file} holds a secret`).toBe(false);
    }

    expect(await status(home, "keyring", true)).toMatchObject({
      loggedIn: true,
      email: "alice@example.com",
      storeKind: "keyring",
      tokenStore: "keyring",
      keyring: { name: "the Secret Service", service: "opencode-oidc", account: home.tokenFile },
    });
    const text2 = await cli(home, "keyring", true, "status");
    expect(text2.stdout).toContain(
      `Store:     OS keyring: ${home.tokenFile} is encrypted, its key is in the Secret Service (service opencode-oidc, account ${home.tokenFile})`,
    );
    const token = await cli(home, "keyring", true, "token");
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim()).toBe(issued.access_token);
  });

  it("a live login moves file → keyring → file → keyring: same tokens, the key removed in between, and it still refreshes", async () => {
    const home = newHome();
    const { issued } = await cliLogin(home, "file", true);
    expect(readFileSync(home.tokenFile, "utf8")).toContain(issued.refresh_token);
    expect(await keyring.lookup("opencode-oidc", home.tokenFile)).toBeUndefined();

    // First use with the keyring setting: moved into the keyring.
    expect(await status(home, "keyring", true)).toMatchObject({ loggedIn: true, storeKind: "keyring" });
    expect(readFileSync(home.tokenFile, "utf8")).not.toContain(issued.refresh_token);
    expect(await keyring.lookup("opencode-oidc", home.tokenFile)).toBeDefined();
    expect((await cli(home, "keyring", true, "token")).stdout.trim()).toBe(issued.access_token);

    // First use with the file setting: a plain file again, the same refresh token, and the key gone.
    const back = await cli(home, "file", true, "token");
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.trim()).toBe(issued.access_token);
    const plain = new FileTokenStore(home.tokenFile);
    expect(await plain.read(sessionKey(idp))).toMatchObject({
      accessToken: issued.access_token,
      refreshToken: issued.refresh_token,
    });
    expect(await keyring.lookup("opencode-oidc", home.tokenFile)).toBeUndefined();

    // Due for a refresh, then used with the keyring setting: moved, refreshed once, stored encrypted.
    await ageStoredSession(plain, sessionKey(idp), 60_000);
    const before = { ...idp.counts };
    const refreshed = await cli(home, "keyring", true, "token");
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(refreshed.stdout.trim()).not.toBe(issued.access_token);
    expect(idp.counts.refreshGrant - before.refreshGrant).toBe(1);
    expect(idp.counts.refreshGrantFailures - before.refreshGrantFailures).toBe(0);
    expect(await status(home, "keyring", true)).toMatchObject({
      loggedIn: true,
      storeKind: "keyring",
      expired: false,
    });
  });

  it("auto: the keyring when the Secret Service answers; the plain file when none does, and `status` says why", async () => {
    const withService = newHome();
    await cliLogin(withService, undefined, true);
    expect(await status(withService, undefined, true)).toMatchObject({
      storeKind: "keyring",
      tokenStore: "auto",
    });

    const without = newHome();
    const { issued } = await cliLogin(without, "auto", false);
    expect(readFileSync(without.tokenFile, "utf8")).toContain(issued.access_token);
    const started = performance.now();
    const report1 = await status(without, "auto", false);
    report("auto without a keyring: `status` ms (probe included)", Math.round(performance.now() - started));
    expect(report1).toMatchObject({ loggedIn: true, storeKind: "file", tokenStore: "auto" });
    expect(report1.keyringProblem).toMatch(/Secret Service|D-Bus|keyring/i);
    const text = await cli(without, "auto", false, "status");
    expect(text.stdout).toMatch(/Setting: {3}tokenStore auto \(no OS keyring: .+\)/);

    // A login kept in the keyring, used where the keyring does not answer: a clear error, nothing touched.
    const sealed = readFileSync(withService.tokenFile, "utf8");
    const token = await cli(withService, "auto", false, "token");
    expect(token.code).toBe(1);
    expect(token.stderr).toContain(
      `The token store ${withService.tokenFile} needs the Secret Service, which cannot be used`,
    );
    expect(token.stderr).toContain("Your login is kept.");
    expect(token.stderr).toContain("(code STORE_UNREADABLE)");
    expect(readFileSync(withService.tokenFile, "utf8")).toBe(sealed);
  });

  it("keyring without a usable keyring (no D-Bus, or a native module that cannot load): the login is refused before anyone approves", async () => {
    for (const [why, withKeyring, extra] of [
      ["no D-Bus session", false, {}],
      ["the native module cannot load", true, { NAPI_RS_NATIVE_LIBRARY_PATH: "/nonexistent/keyring.node" }],
    ] as const) {
      const home = newHome();
      const exit = await run(process.execPath, [build.cli, "login", "--no-browser"], {
        env: cliEnv(home, "keyring", withKeyring, extra),
        cwd: home.dir,
      });
      expect(exit.code, why).toBe(1);
      expect(exit.stderr, why).toContain("needs the Secret Service, which cannot be used");
      expect(exit.stderr, why).toContain("(code STORE_WRITE_FAILED)");
      expect(exit.stderr, why).not.toContain("user_code=");
      if (extra.NAPI_RS_NATIVE_LIBRARY_PATH)
        expect(exit.stderr).toContain("@napi-rs/keyring cannot be loaded");
    }
    // With auto, a module that cannot load means the plain file, and the login works.
    const home = newHome();
    const record = join(home.dir, "r.jsonl");
    const env = cliEnv(home, "auto", true, {
      NAPI_RS_NATIVE_LIBRARY_PATH: "/nonexistent/keyring.node",
      NODE_OPTIONS: `--import=${RECORDER}`,
      ENGINE_TEST_RECORD: record,
    });
    const child = new ChildRun(process.execPath, [build.cli, "login", "--no-browser"], {
      env,
      cwd: home.dir,
    });
    const [, url] = await child.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[\w-]+)/);
    await approveDevice(url as string);
    const exit = await child.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toContain(`Tokens stored in ${home.tokenFile} (mode 0600).`);
  });

  it("`tokenStore` is read from the global config only: a project's config is ignored with a warning; the environment overrides it", async () => {
    const home = newHome();
    const globalDir = join(home.env.XDG_CONFIG_HOME, "opencode-oidc");
    mkdirSync(globalDir, { recursive: true });
    writeFileSync(join(globalDir, "config.json"), JSON.stringify({ tokenStore: "keyring" }));
    expect(await status(home, undefined, true)).toMatchObject({ tokenStore: "keyring" });
    expect(await status(home, "file", true)).toMatchObject({ tokenStore: "file" });

    const project = join(home.dir, "project");
    mkdirSync(project);
    writeFileSync(join(project, "opencode-oidc.config.json"), JSON.stringify({ tokenStore: "file" }));
    const ignored = await run(process.execPath, [build.cli, "status", "--json"], {
      env: cliEnv(home, undefined, true),
      cwd: project,
    });
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(JSON.parse(ignored.stdout)).toMatchObject({ tokenStore: "keyring" });
    expect(ignored.stderr).toContain(
      `warning: file ${join(project, "opencode-oidc.config.json")}: /tokenStore: ignored: where tokens are kept is read only from your global config`,
    );
  });

  it("OPENCODE_OIDC_TOKEN_STORE with a value that is not a mode: a USAGE error naming the variable", async () => {
    const home = newHome();
    const exit = await run(process.execPath, [build.cli, "status"], {
      env: cliEnv(home, "vault" as Store, true),
      cwd: home.dir,
    });
    expect(exit.code).toBe(2); // the CLI's exit code for usage errors
    expect(exit.stderr).toContain('OPENCODE_OIDC_TOKEN_STORE must be auto, keyring or file, not "vault".');
  });
});
