/**
 * The second, independent IdP: a real glewlwyd (Debian package, an OIDC server written in C) on
 * loopback, driven through the real CLI (bundled like dist/cli.js) and the built engine. Device
 * login, model discovery through the sandbox gateway checking glewlwyd's JWKS, refresh with one-use
 * refresh tokens, four processes racing for one refresh, logout that really ends the login, and the
 * browser login (authorization code + PKCE on a registered loopback port) through the CLI.
 * What glewlwyd does differently from oidc-provider is asserted here and written down in
 * docs/idps.md#glewlwyd.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import type { OidcSettings } from "../../src/core/oauth/client.js";
import { pollDeviceToken, startDeviceAuthorization } from "../../src/core/oauth/device.js";
import { refreshTokens } from "../../src/core/oauth/refresh.js";
import { decodeJwtClaims } from "../../src/core/oauth/tokens.js";
import type { SessionKey, TokenSet } from "../../src/core/ports.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun, type Exit, run } from "../support/child-processes.js";
import { browserHook, launcherEnv } from "../support/chromium.js";
import { buildEngine, type EngineBuild, ROOT } from "../support/engine-build.js";
import { ageStoredSession, rejection, type TempHome, tempHome } from "../support/engine-fixtures.js";
import { type Glewlwyd, glewlwydUnavailable, startGlewlwyd } from "../support/glewlwyd.js";
import { report } from "../support/measure.js";
import { freePorts } from "../support/ports.js";
import { SecretSet } from "../support/secrets.js";

const WORKER = fileURLToPath(new URL("../support/session-worker.mjs", import.meta.url));
const EXAMPLE = fileURLToPath(new URL("../../presets/examples/glewlwyd.json", import.meta.url));
/** The gateway's audience, requested as an RFC 8707 resource (glewlwyd wants an https URL there). */
const AUDIENCE = "https://ai.glewlwyd.test/v1";
const PRESET = "glewlwyd";
const JWT_LINE = /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+\n$/;
/** One line per refresh token glewlwyd issues (a device login or a refresh, with rotation on). */
const REFRESH_ISSUED = /Refresh token generated for client/;
/** glewlwyd's line for a refresh token it refused (spent, revoked or unknown). */
const TOKEN_REFUSED = /Security - Token invalid/;

const unavailable = glewlwydUnavailable();
if (unavailable) console.warn(`SKIPPING the glewlwyd suite: ${unavailable}`);

let build: EngineBuild;
let glw: Glewlwyd;
let gateway: Gateway;
let hook: Awaited<ReturnType<typeof browserHook>>;
/** The browser login's loopback port, registered at glewlwyd (which matches redirect URIs exactly). */
let browserPort: number;
let failed = false;
const homes: TempHome[] = [];
const children: ChildRun[] = [];
const started = performance.now();

beforeAll(async () => {
  if (unavailable) return;
  browserPort = (await freePorts(1))[0] as number;
  const redirectUris = ["http://127.0.0.1/callback", `http://127.0.0.1:${browserPort}/callback`];
  [build, glw, hook] = await Promise.all([
    buildEngine(),
    startGlewlwyd({ resource: AUDIENCE, redirectUris }),
    browserHook(),
  ]);
  gateway = await startGateway({ issuer: glw.issuer, audiences: [AUDIENCE], jwksUri: glw.jwksUri });
}, 60_000);
beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    failed = true;
  });
});
afterAll(async () => {
  for (const child of children) child.kill();
  await gateway?.close();
  await hook?.close();
  await glw?.stop({ keepLog: failed });
  for (const home of homes) home.cleanup();
  build?.cleanup();
  if (!unavailable)
    report(
      "glewlwyd suite: ms from start to the end of the last test",
      Math.round(performance.now() - started),
    );
});

/** What the example preset (presets/examples/glewlwyd.json, profile glewlwyd) resolves to here. */
function settings(audienceParam: OidcSettings["audienceParam"] = "resource"): OidcSettings {
  return {
    issuer: glw.issuer,
    clientId: glw.clientId,
    scopes: glw.scopes,
    audience: AUDIENCE,
    audienceParam,
    compat: { revocation: "delete-token-grant" },
  };
}

interface CliHome {
  home: TempHome;
  /** The preset's debug log. */
  logFile: string;
  env: NodeJS.ProcessEnv;
  store: FileTokenStore;
  key: SessionKey;
  cli(...args: string[]): Promise<Exit>;
}

/**
 * A temp home whose project config holds the example preset, filled in as a user would: this
 * server's issuer and client, the gateway, its audience. `oidc` and `auth` override fields of the
 * example; `env` is added to the CLI's environment.
 */
function cliHome(
  oidc: Record<string, unknown> = {},
  auth: Record<string, unknown> = {},
  extraEnv: Record<string, string> = {},
): CliHome {
  const home = tempHome();
  homes.push(home);
  const example = JSON.parse(readFileSync(EXAMPLE, "utf8"));
  writeFileSync(
    join(home.dir, "opencode-oidc.config.json"),
    JSON.stringify({
      default: PRESET,
      presets: [
        {
          ...example,
          id: PRESET,
          name: "Glewlwyd AI",
          provider: { ...example.provider, id: "glewlwydAi", name: "Glewlwyd AI", baseURL: gateway.url },
          oidc: {
            ...example.oidc,
            issuer: glw.issuer,
            clientId: glw.clientId,
            audience: AUDIENCE,
            scopes: glw.scopes,
            ...oidc,
          },
          auth: { ...example.auth, ...auth },
          log: { file: "glewlwyd.log" },
        },
      ],
    }),
  );
  const env = { PATH: process.env.PATH, ...home.env, NO_COLOR: "1", ...extraEnv };
  return {
    home,
    logFile: join(home.authDir, "log", "glewlwyd.log"),
    env,
    store: new FileTokenStore(home.tokenFile),
    key: { preset: PRESET, issuer: glw.issuer, clientId: glw.clientId },
    cli: (...args) => run(process.execPath, [build.cli, ...args], { env, cwd: home.dir }),
  };
}

/** `opencode-oidc login` as a person runs it: read the code from stderr, approve it at glewlwyd. */
async function cliLogin(h: CliHome): Promise<{ exit: Exit; userCode: string }> {
  const login = new ChildRun(process.execPath, [build.cli, "login", "--no-browser"], {
    env: h.env,
    cwd: h.home.dir,
  });
  children.push(login);
  const [, url] = await login.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/api\/oidc\/device\?code=[\w-]+)/);
  const [, userCode] = await login.waitFor(/confirm the code: +(\S+)/);
  expect(url).toContain(`code=${userCode}`);
  await glw.approve(userCode as string);
  return { exit: await login.exited, userCode: userCode as string };
}

/** For a race with the browser hook: the login ended before it opened a browser. */
function failedEarly(exit: Exit): never {
  throw new Error(`login exited ${exit.code} before opening the browser: ${exit.stderr}`);
}

/** A device login through the engine alone (approve first, then a single poll). */
async function engineLogin(s = settings()): Promise<TokenSet> {
  const auth = await startDeviceAuthorization(s);
  await glw.approve(auth.userCode);
  return pollDeviceToken(s, auth, { sleep: async () => {} });
}

describe.skipIf(unavailable)("glewlwyd, a second independent IdP", () => {
  it("its discovery document differs from oidc-provider's where docs/idps.md says", async () => {
    const response = await fetch(`${glw.issuer}/.well-known/openid-configuration`);
    const doc = (await response.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(glw.issuer);
    expect(doc.device_authorization_endpoint).toBe(`${glw.issuer}/device_authorization`);
    // Both grants work (below), but only the device grant is advertised.
    expect(doc.grant_types_supported).toContain("urn:ietf:params:oauth:grant-type:device_code");
    expect(doc.grant_types_supported).not.toContain("refresh_token");
    // Public clients work at the token endpoint, yet "none" is not listed; RFC 7009 revocation is
    // for confidential clients only (or a bearer token with an admin scope, when configured).
    expect(doc.token_endpoint_auth_methods_supported).not.toContain("none");
    expect(doc.revocation_endpoint_auth_methods_supported).toEqual(["client_secret_basic"]);
  });

  it("an issuer configured with a trailing slash is refused with the exact issuer to set", async () => {
    const h = cliHome();
    const config = join(h.home.dir, "opencode-oidc.config.json");
    writeFileSync(config, readFileSync(config, "utf8").replace(`"${glw.issuer}"`, `"${glw.issuer}/"`));
    const login = await h.cli("login", "--no-browser");
    expect(login.code).toBe(1);
    expect(login.stderr).toContain(`names the issuer "${glw.issuer}", not the configured "${glw.issuer}/"`);
    expect(login.stderr).toMatch(/Set oidc\.issuer to exactly the issuer the discovery document names/);
    expect(login.stderr).toContain(`(code ${ErrorCode.IDP_REJECTED})`);
  });

  it("CLI: device login, token, and model discovery through the gateway that checks glewlwyd's JWKS", async () => {
    const h = cliHome();
    const { exit, userCode } = await cliLogin(h);
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toContain(`confirm the code:  ${userCode}`);
    expect(exit.stderr).toMatch(/Logged in to Glewlwyd AI as alice@example\.com/);
    const stored = await h.store.read(h.key);
    expect(stored?.refreshToken).toEqual(expect.any(String));

    const token = await h.cli("token");
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(JWT_LINE);
    const claims = decodeJwtClaims(token.stdout.trim());
    // With resource=<audience>, glewlwyd puts the resource into aud (else the scope list, see below).
    expect(claims).toMatchObject({ iss: glw.issuer, aud: AUDIENCE, client_id: glw.clientId });

    const models = await h.cli("models", "--json");
    expect(models.code, models.stderr).toBe(0);
    expect(Object.keys(JSON.parse(models.stdout)).sort()).toEqual([
      "claude-sonnet-4",
      "gpt-4o-mini",
      "llama-3.1-70b",
    ]);
    const listing = gateway.requests.filter((r) => r.path === "/v1/models" && r.sub === claims?.sub);
    expect(listing.length).toBeGreaterThan(0);
    expect(listing.every((r) => r.auth === "bearer" && r.allowed && r.aud === AUDIENCE)).toBe(true);

    const status = await h.cli("status", "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({
      loggedIn: true,
      email: "alice@example.com",
      refreshable: true,
    });

    // doctor against glewlwyd: all good, except that it does not advertise the refresh grant it has.
    const doctor = await h.cli("doctor", "--json");
    expect(doctor.code, doctor.stdout).toBe(0);
    const diagnosis = JSON.parse(doctor.stdout) as {
      checks: Array<{ id: string; status: string; summary: string }>;
    };
    expect(Object.fromEntries(diagnosis.checks.map((c) => [c.id, c.status]))).toEqual({
      preset: "pass",
      discovery: "pass",
      grants: "warn",
      jwks: "pass",
      gateway: "pass",
      token: "pass",
      clock: "pass",
      store: "pass",
    });
    expect(diagnosis.checks.find((c) => c.id === "grants")?.summary).toBe(
      "refresh_token is not in grant_types_supported.",
    );

    // No token in any output but `token`'s stdout, nor in the debug log; the user code only in login's stderr.
    const secrets = new SecretSet();
    secrets.addStore(h.home.tokenFile);
    expect(existsSync(h.logFile)).toBe(true);
    secrets.add("user_code", userCode);
    const texts = [
      doctor.stdout,
      doctor.stderr,
      exit.stdout,
      token.stderr,
      models.stdout,
      models.stderr,
      status.stdout,
      status.stderr,
      readFileSync(h.logFile, "utf8"),
    ];
    expect(texts.flatMap((t) => secrets.leaksIn(t))).toEqual([]);
    expect(secrets.leaksIn(exit.stderr, new Set(["user_code"]))).toEqual([]);
  });

  it("without a resource indicator the access token's aud is the scope list, which the gateway refuses", async () => {
    const tokens = await engineLogin(settings("none"));
    expect(decodeJwtClaims(tokens.accessToken)?.aud).toBe(glw.scopes.join(" "));
    const response = await fetch(`${gateway.url}/models`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(response.status).toBe(401);
    expect(gateway.requests.at(-1)).toMatchObject({ allowed: false, reason: "jwt_bad_audience" });
  });

  it("refresh rotates the one-use refresh token; replaying the old one ends the whole login", async () => {
    const h = cliHome();
    expect((await cliLogin(h)).exit.code).toBe(0);
    const first = await h.store.read(h.key);
    const issuedBefore = glw.countLog(REFRESH_ISSUED);

    await ageStoredSession(h.store, h.key, 2_000);
    const token = await h.cli("token");
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim()).not.toBe(first?.accessToken);
    expect(decodeJwtClaims(token.stdout.trim())?.aud).toBe(AUDIENCE);
    const second = await h.store.read(h.key);
    expect(second?.refreshToken).toEqual(expect.any(String));
    expect(second?.refreshToken).not.toBe(first?.refreshToken);
    expect(glw.countLog(REFRESH_ISSUED) - issuedBefore).toBe(1);
    const ok = await fetch(`${gateway.url}/models`, {
      headers: { authorization: `Bearer ${second?.accessToken}` },
    });
    expect(ok.status).toBe(200);

    // Someone replays the spent refresh token: a bare HTTP 400 (no OAuth error body) → SESSION_ENDED.
    const refusedBefore = glw.countLog(TOKEN_REFUSED);
    const replay = await rejection(refreshTokens(settings(), first as TokenSet));
    expect(replay.code).toBe(ErrorCode.SESSION_ENDED);
    expect(glw.countLog(TOKEN_REFUSED) - refusedBefore).toBe(1);
    // glewlwyd then refuses the current refresh token too: the next refresh ends the stored login.
    await ageStoredSession(h.store, h.key, 2_000);
    const after = await h.cli("token");
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/login has ended/i);
    expect(after.stderr).toContain(`(code ${ErrorCode.SESSION_ENDED})`);
    expect(await h.store.read(h.key)).toBeUndefined();
  });

  it("4 processes needing a refresh at once: 1 refresh at glewlwyd, none refused, all get the same new token", async () => {
    const home = tempHome();
    homes.push(home);
    const key: SessionKey = { preset: "haiilo", issuer: glw.issuer, clientId: glw.clientId };
    const store = new FileTokenStore(home.tokenFile);
    const login = await engineLogin();
    await store.transact(key, async () => ({ next: login, result: undefined }));
    // Inside the 300 s skew window, 60 s before expiry: every process must refresh before using it.
    await ageStoredSession(store, key, 60_000);
    const issuedBefore = glw.countLog(REFRESH_ISSUED);
    const refusedBefore = glw.countLog(TOKEN_REFUSED);

    const group = Array.from(
      { length: 4 },
      () =>
        new ChildRun(
          process.execPath,
          [WORKER, build.engineUrl, home.tokenFile, glw.issuer, glw.clientId, "haiilo"],
          { env: { PATH: process.env.PATH, ...home.env }, cwd: ROOT },
        ),
    );
    children.push(...group);
    await Promise.all(group.map((c) => c.waitFor(/^ready$/m, "stdout")));
    for (const child of group) child.child.stdin.write("go\n");
    const results = await Promise.all(
      group.map(async (c) => {
        const exit = await c.exited;
        expect(exit.code, exit.stderr).toBe(0);
        const line = exit.stdout.split("\n").find((l) => l.startsWith("{"));
        return JSON.parse(line ?? "{}") as { ok: boolean; token?: string; refreshCalls: number; ms?: number };
      }),
    );
    report(
      "glewlwyd, 4 processes: ms from barrier to token per process",
      results.map((r) => Math.round(r.ms ?? -1)),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    expect(results.reduce((n, r) => n + r.refreshCalls, 0)).toBe(1);
    expect(glw.countLog(REFRESH_ISSUED) - issuedBefore).toBe(1);
    expect(glw.countLog(TOKEN_REFUSED) - refusedBefore).toBe(0);
    const tokens = new Set(results.map((r) => r.token));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(login.accessToken);
    const stored = await store.read(key);
    expect(stored?.accessToken).toBe([...tokens][0]);
    expect(stored?.refreshToken).not.toBe(login.refreshToken);
  });

  it("CLI logout revokes at glewlwyd (delete_token grant): the refresh token no longer works", async () => {
    const h = cliHome();
    expect((await cliLogin(h)).exit.code).toBe(0);
    const before = await h.store.read(h.key);
    expect(before?.refreshToken).toEqual(expect.any(String));

    const logout = await h.cli("logout");
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toContain("Tokens revoked at the identity provider and deleted.");
    expect(await h.store.read(h.key)).toBeUndefined();
    const status = JSON.parse((await h.cli("status", "--json")).stdout);
    expect(status).toMatchObject({ loggedIn: false });

    const refusedBefore = glw.countLog(TOKEN_REFUSED);
    const reuse = await rejection(refreshTokens(settings(), before as TokenSet));
    expect(reuse.code).toBe(ErrorCode.SESSION_ENDED);
    expect(glw.countLog(TOKEN_REFUSED) - refusedBefore).toBe(1);
  });

  it("authorization code + PKCE, as a browser login sends it: needs a nonce and the exact registered redirect URI", async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(glw.issuer),
      await oauth.discoveryRequest(new URL(glw.issuer), {
        algorithm: "oidc",
        [oauth.allowInsecureRequests]: true,
      }),
    );
    const client = { client_id: glw.clientId };
    const authorizationUrl = async (redirectUri: string, nonce?: string) => {
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(as.authorization_endpoint as string);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: glw.clientId,
        redirect_uri: redirectUri,
        scope: glw.scopes.join(" "),
        state: "state-1",
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        resource: AUDIENCE,
        ...(nonce && { nonce }),
      }).toString();
      return { url: url.href, verifier };
    };
    const registered = "http://127.0.0.1/callback";

    const good = await authorizationUrl(registered, "nonce-1");
    const back = await glw.authorize(good.url);
    expect(`${back.origin}${back.pathname}`).toBe(registered);
    // No RFC 9207 iss parameter on the redirect (oauth4webapi requires it only when advertised).
    expect(back.searchParams.has("iss")).toBe(false);
    const params = oauth.validateAuthResponse(as, client, back, "state-1");
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      registered,
      good.verifier,
      {
        [oauth.allowInsecureRequests]: true,
        additionalParameters: { resource: AUDIENCE },
      },
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: "nonce-1",
    });
    expect(decodeJwtClaims(tokens.access_token)).toMatchObject({ iss: glw.issuer, aud: AUDIENCE });
    expect(tokens.refresh_token).toEqual(expect.any(String));

    // Without a nonce: refused on the redirect (OpenID Connect makes it optional for the code flow).
    const noNonce = await glw.authorize((await authorizationUrl(registered)).url);
    expect(Object.fromEntries(noNonce.searchParams)).toMatchObject({
      error: "invalid_request",
      error_description: "nonce required",
    });
    // Another loopback port than the registered one (RFC 8252 §7.3 allows any): refused outright.
    await expect(
      glw.authorize((await authorizationUrl("http://127.0.0.1:54321/callback", "n")).url),
    ).rejects.toThrow(/answered 403/);
  });

  it("CLI: browser login on the registered port (glewlwyd's consent by its REST calls), token, models", async () => {
    const h = cliHome({}, { browser: { enabled: true, ports: [browserPort] } }, launcherEnv(hook.url));
    const login = new ChildRun(process.execPath, [build.cli, "login", "--method", "browser"], {
      env: h.env,
      cwd: h.home.dir,
    });
    children.push(login);
    // The launcher hands over the URL the CLI opens; a person signs in and consents at glewlwyd.
    const opened = new URL(await Promise.race([hook.next(), login.exited.then(failedEarly)]));
    expect(`${opened.origin}${opened.pathname}`).toBe(`${glw.issuer}/auth`);
    expect(Object.fromEntries(opened.searchParams)).toMatchObject({
      client_id: glw.clientId,
      redirect_uri: `http://127.0.0.1:${browserPort}/callback`,
      code_challenge_method: "S256",
      resource: AUDIENCE,
      nonce: expect.any(String),
    });
    const back = await glw.authorize(opened.href);
    expect(`${back.origin}${back.pathname}`).toBe(`http://127.0.0.1:${browserPort}/callback`);
    expect(back.searchParams.get("code")).toEqual(expect.any(String));
    // The browser follows glewlwyd's redirect to the CLI's loopback listener.
    const page = await fetch(back);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Logged in to Glewlwyd AI");
    const exit = await login.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toMatch(/Logged in to Glewlwyd AI as alice@example\.com/);
    expect((await h.store.read(h.key))?.refreshToken).toEqual(expect.any(String));

    const token = await h.cli("token");
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(JWT_LINE);
    const claims = decodeJwtClaims(token.stdout.trim());
    expect(claims).toMatchObject({ iss: glw.issuer, aud: AUDIENCE, client_id: glw.clientId });

    const models = await h.cli("models", "--json");
    expect(models.code, models.stderr).toBe(0);
    expect(Object.keys(JSON.parse(models.stdout)).sort()).toEqual([
      "claude-sonnet-4",
      "gpt-4o-mini",
      "llama-3.1-70b",
    ]);
    const listing = gateway.requests.filter((r) => r.path === "/v1/models" && r.sub === claims?.sub);
    expect(listing.at(-1)).toMatchObject({ auth: "bearer", allowed: true, aud: AUDIENCE });

    // doctor: glewlwyd advertises authorization_code, so the browser login's grant passes.
    const doctor = await h.cli("doctor", "--json");
    const grants = (
      JSON.parse(doctor.stdout) as { checks: Array<{ id: string; details?: string[] }> }
    ).checks.find((c) => c.id === "grants");
    expect(grants?.details).toContain(`pass: browser login: ${glw.issuer}/auth`);

    const secrets = new SecretSet();
    secrets.addStore(h.home.tokenFile);
    secrets.add("code", back.searchParams.get("code") as string);
    const texts = [exit.stdout, exit.stderr, token.stderr, models.stdout, models.stderr, doctor.stdout];
    expect(texts.flatMap((t) => secrets.leaksIn(t))).toEqual([]);
    expect(secrets.leaksIn(readFileSync(h.logFile, "utf8"))).toEqual([]);
  });

  it("control: RFC 7009 revocation, as for oidc-provider, is refused for a public client and says so", async () => {
    const h = cliHome({ compat: { revocation: "rfc7009" } });
    expect((await cliLogin(h)).exit.code).toBe(0);
    const before = await h.store.read(h.key);

    const logout = await h.cli("logout");
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toMatch(/Tokens deleted \(not revoked: .+\)\./);
    expect(await h.store.read(h.key)).toBeUndefined();
    // Not revoked: the refresh token still works at glewlwyd.
    const still = await refreshTokens(settings(), before as TokenSet);
    expect(still.accessToken).toMatch(/^eyJ/);
  });
});
