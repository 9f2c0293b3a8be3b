/**
 * The Google and Entra ID example presets through the real CLI (bundled like dist/cli.js), against
 * vendor-shaped test IdPs, configured the way the presets' comments say: the example in the
 * project's opencode-oidc.config.json, the tenant's values in the preset's environment variables.
 * Shows what a person sees (a plain URL and "enter the code"), that an opaque access token works
 * for login, token, status, refresh and logout, that Google's client secret is printed nowhere,
 * and that `envoy` configures the gateway for Entra's v1 token issuer.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PresetDocument } from "../../src/engine.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun, type Exit, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild, ROOT } from "../support/engine-build.js";
import { ageStoredSession, type TempHome, tempHome } from "../support/engine-fixtures.js";
import { SecretSet } from "../support/secrets.js";
import { ENTRA_V1_ISSUER, startVendorIdp, type VendorIdp } from "../support/vendor-idp.js";

const example = (name: string): PresetDocument =>
  JSON.parse(readFileSync(join(ROOT, "presets", "examples", `${name}.json`), "utf8"));
/** The prompt when the IdP sends no complete verification URL. */
const PLAIN_PROMPT =
  /open this URL in a browser:\n\n {4}(http:\/\/127\.0\.0\.1:\d+\/device)\n\nand enter the code: {2}(\S+)\n/;

let build: EngineBuild;
let google: VendorIdp;
let entra: VendorIdp;
let gateway: Gateway;
let home: TempHome;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [build, google, entra] = await Promise.all([
    buildEngine(),
    startVendorIdp("google"),
    startVendorIdp("entra", { audience: "api://acme-ai" }),
  ]);
  gateway = await startGateway({
    issuer: ENTRA_V1_ISSUER,
    audiences: ["api://acme-ai"],
    jwksUri: entra.jwksUri,
  });
  home = tempHome();
  // Google's issuer is fixed in the example; the test IdP stands in for it. Entra's tenant issuer
  // comes from the environment; the v1 token issuer is derived from a real Entra issuer, so with
  // the loopback one it is set in the file.
  const googlePreset = { ...example("google"), oidc: { ...example("google").oidc, issuer: google.issuer } };
  const entraPreset = {
    ...example("entra"),
    oidc: { ...example("entra").oidc, compat: { accessTokenIssuer: ENTRA_V1_ISSUER } },
  };
  writeFileSync(
    join(home.dir, "opencode-oidc.config.json"),
    JSON.stringify({ default: "acme-entra", presets: [googlePreset, entraPreset] }, null, 2),
  );
  env = {
    PATH: process.env.PATH,
    ...home.env,
    ACME_GOOGLE_CLIENT_ID: google.clientId,
    ACME_GOOGLE_CLIENT_SECRET: google.clientSecret,
    ACME_ENTRA_ISSUER: entra.issuer,
    ACME_ENTRA_CLIENT_ID: entra.clientId,
    ACME_AI_BASE_URL: gateway.url,
    NO_COLOR: "1",
  };
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([google?.close(), entra?.close()]);
  home?.cleanup();
  build?.cleanup();
});

const cli = (...args: string[]): Promise<Exit> =>
  run(process.execPath, [build.cli, ...args], { env, cwd: home.dir });

/** `login --no-browser` as a person does it without a complete URL: open the plain URL, type the code. */
async function login(preset: string): Promise<{ exit: Exit; url: string; code: string }> {
  const child = new ChildRun(process.execPath, [build.cli, "login", "--preset", preset, "--no-browser"], {
    env,
    cwd: home.dir,
  });
  const [, url = "", code = ""] = await child.waitFor(PLAIN_PROMPT);
  await approveDevice(url, { userCode: code });
  return { exit: await child.exited, url, code };
}

describe("example presets through the CLI", () => {
  it("google: opaque token through login, token, status, refresh and logout; the client secret is printed nowhere", async () => {
    const secrets = new SecretSet();
    secrets.add("client_secret", google.clientSecret);
    const texts: string[] = [];
    const { exit, code } = await login("acme-google");
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toMatch(/Logged in to Acme AI \(Google\) as alice@example\.com/);
    texts.push(exit.stderr.replace(code, ""));

    const store = new FileTokenStore(home.tokenFile);
    const key = { preset: "acme-google", issuer: google.issuer, clientId: google.clientId };
    const first = await store.read(key);
    expect(first?.accessToken).not.toMatch(/^eyJ/);
    expect(first?.refreshToken).toEqual(expect.any(String));

    const token = await cli("token", "--preset", "acme-google");
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toBe(`${first?.accessToken}\n`);

    const status = await cli("status", "--preset", "acme-google", "--json");
    expect(status.code, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout);
    expect(shown).toMatchObject({
      loggedIn: true,
      email: "alice@example.com",
      refreshable: true,
      expired: false,
    });
    // Expiry is the client's login time plus expires_in (3600 s at this IdP), not read from the token.
    expect(Date.parse(shown.expiresAt) - (first?.obtainedAt ?? 0)).toBe(google.accessTokenTtlSeconds * 1000);
    texts.push(status.stdout, status.stderr);

    // A refresh (the token now inside the refresh window) sends the secret to the token endpoint only.
    await ageStoredSession(store, key, 2_000);
    const refreshed = await cli("token", "--preset", "acme-google");
    expect(refreshed.code, refreshed.stderr).toBe(0);
    const second = await store.read(key);
    expect(refreshed.stdout.trim()).toBe(second?.accessToken);
    expect(second?.accessToken).not.toBe(first?.accessToken);
    expect(second?.refreshToken).toBe(first?.refreshToken);

    const show = await cli("presets", "show", "acme-google");
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).oidc.clientSecret).toBe("(set)");
    texts.push(show.stdout, show.stderr);

    const logout = await cli("logout", "--preset", "acme-google");
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toMatch(/revoked/i);
    texts.push(logout.stdout, logout.stderr);

    // Device polls (pending until approved, then the tokens), one refresh, one revocation.
    const withSecret = (endpoint: string) => [
      ...new Set(google.requests.filter((r) => r.endpoint === endpoint).map((r) => r.clientSecret)),
    ];
    expect(withSecret("device_authorization")).toEqual([false]);
    expect(withSecret("token")).toEqual([true]);
    expect(withSecret("revocation")).toEqual([false]);
    expect(google.requests.filter((r) => r.grantType === "refresh_token")).toHaveLength(1);
    expect(google.requests.filter((r) => r.refused)).toEqual([]);
    texts.push(readFileSync(join(home.authDir, "log", "acme-google.log"), "utf8"));
    expect(texts.flatMap((t) => secrets.leaksIn(t))).toEqual([]);
  });

  it("entra: enter the code at the plain URL, the gateway accepts the v1 token, and envoy checks its issuer", async () => {
    const { exit, url } = await login("acme-entra");
    expect(exit.code, exit.stderr).toBe(0);
    expect(url).toBe(`${entra.issuer}/device`);

    const models = await cli("models", "--preset", "acme-entra", "--json");
    expect(models.code, models.stderr).toBe(0);
    expect(gateway.requests.filter((r) => r.auth === "bearer").every((r) => r.allowed)).toBe(true);
    expect(gateway.requests.some((r) => r.auth === "bearer" && r.aud === "api://acme-ai")).toBe(true);

    const envoy = await cli(
      "envoy",
      "--preset",
      "acme-entra",
      "--format",
      "raw",
      "--jwks-uri",
      entra.jwksUri,
    );
    expect(envoy.code, envoy.stderr).toBe(0);
    expect(envoy.stdout).toContain(`issuer: ${ENTRA_V1_ISSUER}`);
    expect(envoy.stdout).not.toContain(`issuer: ${entra.issuer}`);
  });
});
