/**
 * Each example preset (presets/examples) against a test IdP that answers like its vendor
 * (test/support/vendor-idp.ts: the real oidc-provider behind a rewriting proxy), through the public
 * engine API: resolve the preset as a user's config would, device login, the token checked by the
 * sandbox gateway configured from the preset, refresh through the Session, and the quirk that makes
 * the profile necessary shown failing without it. Logins go through the login use case
 * (`beginLogin`), as the CLI and OpenCode do.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import {
  beginLogin,
  ErrorCode,
  type LoginPrompt,
  type PresetDocument,
  pollDeviceToken,
  refreshTokens,
  resolvePresets,
  startDeviceAuthorization,
  Tenant,
  type TokenSet,
} from "../../src/engine.js";
import { requireJwtFields } from "../../src/gateway/render.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import {
  type ManualClock,
  manualClock,
  rejection,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import {
  ENTRA_V1_ISSUER,
  startVendorIdp,
  type Vendor,
  type VendorIdp,
  type VendorIdpOptions,
} from "../support/vendor-idp.js";

const root = join(import.meta.dirname, "../..");
const example = (name: string): PresetDocument =>
  JSON.parse(readFileSync(join(root, "presets", "examples", `${name}.json`), "utf8"));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Fixture {
  idp: VendorIdp;
  rt: Tenant;
  clock: ManualClock;
  home: TempHome;
}

/**
 * The example preset as a user would use it: the example file as one config layer, the tenant's
 * values (issuer, client id, secret, base URL) in a layer above it, plus `oidc` overrides of a test.
 */
async function setUp(
  vendor: Vendor,
  preset: PresetDocument,
  options: { idp?: VendorIdpOptions; oidc?: Record<string, unknown>; baseURL?: string } = {},
): Promise<Fixture> {
  const idp = await startVendorIdp(vendor, {
    audience: preset.oidc?.audience ?? undefined,
    apiScopes: preset.oidc?.scopes ?? [],
    ...options.idp,
  });
  cleanups.push(() => idp.close());
  const home = tempHome();
  cleanups.push(() => home.cleanup());
  const tenant = {
    id: preset.id,
    provider: { baseURL: options.baseURL ?? "http://127.0.0.1:9/v1" },
    oidc: {
      issuer: idp.issuer,
      clientId: idp.clientId,
      ...(idp.clientSecret && { clientSecret: idp.clientSecret }),
      ...options.oidc,
    },
  };
  const resolution = await resolvePresets({
    configFiles: false,
    env: {},
    extraLayers: [
      { source: `file presets/examples/${preset.id}.json`, document: { presets: [preset] } },
      { source: "file tenant.json", document: { presets: [tenant] } },
    ],
  });
  expect(resolution.issues).toEqual([]);
  const resolved = resolution.presets.get(preset.id);
  if (!resolved) throw new Error(`${preset.id} did not resolve`);
  const clock = manualClock();
  return { idp, rt: new Tenant(resolved, { env: home.env, clock }), clock, home };
}

/** What a person does with the prompt: open the complete link, or the plain URL and type the code. */
function approve(prompt: LoginPrompt): Promise<void> {
  return prompt.codeInUrl
    ? approveDevice(prompt.url)
    : approveDevice(prompt.url, { userCode: prompt.userCode });
}

/** A device login through the login use case; answers the stored tokens. */
async function deviceLogin(f: Fixture): Promise<TokenSet> {
  const pending = await beginLogin(f.rt, "device");
  await approve(pending.prompt);
  await pending.complete();
  const tokens = await f.rt.session().current();
  if (!tokens) throw new Error("the login stored nothing");
  return tokens;
}

/** Refresh through the Session, after the client's clock has passed the access token's expiry. */
async function refreshBySession(f: Fixture, before: TokenSet): Promise<TokenSet> {
  f.clock.advance(before.expiresAt - f.clock.now() + 1000);
  const token = await f.rt.session().getAccessToken();
  const after = await f.rt.session().current();
  if (!after) throw new Error("no stored session after the refresh");
  expect(after.accessToken).toBe(token);
  expect(token).not.toBe(before.accessToken);
  return after;
}

/** The sandbox gateway, checking iss/aud as `opencode-oidc envoy` would configure Envoy for this preset. */
async function gatewayFor(f: Fixture): Promise<Gateway> {
  const { issuer, audience } = requireJwtFields(f.rt.preset, "(test)");
  const gateway = await startGateway({ issuer, audiences: [audience], jwksUri: f.idp.jwksUri });
  cleanups.push(() => gateway.close());
  return gateway;
}

async function gatewayStatus(gateway: Gateway, token: string): Promise<number> {
  const response = await fetch(`${gateway.url}/models`, { headers: { authorization: `Bearer ${token}` } });
  await response.body?.cancel();
  return response.status;
}

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const isJwt = (token: string) => /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/.test(token);
const requestsTo = (idp: VendorIdp, endpoint: string, grantType?: string) =>
  idp.requests.filter(
    (r) => r.endpoint === endpoint && (grantType === undefined || r.grantType === grantType),
  );

describe("okta example against an Okta-shaped IdP", () => {
  it("device login, JWT for the authorization server's audience, refresh with rotation", async () => {
    const f = await setUp("okta", example("okta"));
    const gateway = await gatewayFor(f);
    const tokens = await deviceLogin(f);
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ iss: f.idp.issuer, aud: "api://acme-ai" });
    expect(String(decodeJwt(tokens.accessToken).scope).split(" ")).toContain("acme:inference");
    expect(await gatewayStatus(gateway, tokens.accessToken)).toBe(200);
    // The authorization server decides the audience: no audience or resource parameter is sent.
    expect(requestsTo(f.idp, "device_authorization")[0]?.parameters.sort()).toEqual(["client_id", "scope"]);

    const refreshed = await refreshBySession(f, tokens);
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    expect(await gatewayStatus(gateway, refreshed.accessToken)).toBe(200);
    expect(f.idp.upstream.counts.refreshGrant).toBe(1);
  });
});

describe("entra example against an Entra-ID-shaped IdP (v2 endpoints)", () => {
  // The emulated issuer is on loopback, so the tenant cannot be read from it: set the v1 token issuer
  // the profile derives from https://login.microsoftonline.com/{tenant}/v2.0 by hand.
  const oidc = { compat: { accessTokenIssuer: ENTRA_V1_ISSUER } };

  it("audience as the .default scope, no complete URI but a message, a v1 token the gateway accepts, refresh with scope", async () => {
    const f = await setUp("entra", example("entra"), { oidc });
    const gateway = await gatewayFor(f);
    const pending = await beginLogin(f.rt, "device");
    const { prompt } = pending;
    expect(prompt).toMatchObject({
      codeInUrl: false,
      url: `${f.idp.issuer}/device`,
      verificationUri: `${f.idp.issuer}/device`,
    });
    expect(prompt.message).toBe(
      `To sign in, use a web browser to open the page ${prompt.url} and enter the code ${prompt.userCode} to authenticate.`,
    );
    const [deviceRequest] = requestsTo(f.idp, "device_authorization");
    expect(deviceRequest?.scope?.split(" ")).toContain("api://acme-ai/.default");
    expect(deviceRequest?.parameters).not.toContain("resource");

    await approve(prompt);
    await pending.complete();
    const tokens = (await f.rt.session().current()) as TokenSet;
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ iss: ENTRA_V1_ISSUER, aud: "api://acme-ai" });
    expect(await gatewayStatus(gateway, tokens.accessToken)).toBe(200);

    const refreshed = await refreshBySession(f, tokens);
    expect(requestsTo(f.idp, "token", "refresh_token")[0]?.scope?.split(" ")).toContain(
      "api://acme-ai/.default",
    );
    expect(decodeJwt(refreshed.accessToken)).toMatchObject({ iss: ENTRA_V1_ISSUER, aud: "api://acme-ai" });
    expect(await gatewayStatus(gateway, refreshed.accessToken)).toBe(200);
  });

  it("without the profile's settings: `resource` is refused, and a refresh without scope too", async () => {
    const f = await setUp("entra", example("entra"), { oidc: { ...oidc, audienceParam: "resource" } });
    const error = await rejection(startDeviceAuthorization(f.rt.requireOidc()));
    expect(error.code).toBe(ErrorCode.IDP_REJECTED);
    expect(error.message).toMatch(/AADSTS901002/);

    const g = await setUp("entra", example("entra"), { oidc });
    const tokens = await deviceLogin(g);
    const noScope = { ...g.rt.requireOidc(), compat: { ...g.rt.preset.oidc.compat, refreshScope: false } };
    const refused = await rejection(refreshTokens(noScope, tokens));
    expect(refused.code).toBe(ErrorCode.IDP_REJECTED);
    expect(refused.message).toMatch(/AADSTS900144/);
  });

  it("the v1 token issuer is what the gateway must check: configured with the issuer itself it refuses the token", async () => {
    const f = await setUp("entra", example("entra"), { oidc });
    const tokens = await deviceLogin(f);
    const strict = await startGateway({
      issuer: f.idp.issuer,
      audiences: ["api://acme-ai"],
      jwksUri: f.idp.jwksUri,
    });
    cleanups.push(() => strict.close());
    expect(await gatewayStatus(strict, tokens.accessToken)).toBe(401);
    expect(strict.requests.at(-1)?.reason).toBe("jwt_bad_issuer");
  });
});

describe("entra example against Entra ID's v1 device endpoint", () => {
  const v1 = { audienceParam: "resource", compat: { refreshScope: false, accessTokenIssuer: null } };

  it("verification_url and numbers as strings are rewritten; login and refresh work", async () => {
    const f = await setUp("entra-v1", example("entra"), { oidc: v1 });
    const tokens = await deviceLogin(f);
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ aud: "api://acme-ai" });
    expect(requestsTo(f.idp, "device_authorization")[0]?.parameters).toContain("resource");
    await refreshBySession(f, tokens);
  });

  it("strict (compat.verificationUrl: false): IDP_REJECTED with a hint that names the switch", async () => {
    const f = await setUp("entra-v1", example("entra"), {
      oidc: { ...v1, compat: { verificationUrl: false } },
    });
    const error = await rejection(startDeviceAuthorization(f.rt.requireOidc()));
    expect(error.code).toBe(ErrorCode.IDP_REJECTED);
    expect(error.message).toMatch(/verification_uri/);
    expect(error.hint).toMatch(/oidc\.compat\.verificationUrl/);
  });
});

describe("auth0 example against an Auth0-shaped IdP", () => {
  it("the audience parameter gets a JWT for the API; refresh keeps it", async () => {
    const f = await setUp("auth0", example("auth0"));
    const gateway = await gatewayFor(f);
    const tokens = await deviceLogin(f);
    expect(requestsTo(f.idp, "device_authorization")[0]?.parameters).toContain("audience");
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ aud: "https://ai.acme.example" });
    expect(await gatewayStatus(gateway, tokens.accessToken)).toBe(200);
    const refreshed = await refreshBySession(f, tokens);
    expect(await gatewayStatus(gateway, refreshed.accessToken)).toBe(200);
  });

  it("without it (audienceParam: none) the token is opaque: it still works for the client, the gateway refuses it", async () => {
    const f = await setUp("auth0", example("auth0"), { oidc: { audienceParam: "none" } });
    const gateway = await gatewayFor(f);
    const tokens = await deviceLogin(f);
    expect(isJwt(tokens.accessToken)).toBe(false);
    expect(tokens.expiresAt - tokens.obtainedAt).toBe(f.idp.accessTokenTtlSeconds * 1000);
    expect(await gatewayStatus(gateway, tokens.accessToken)).toBe(401);
    await refreshBySession(f, tokens);
  });
});

describe("keycloak example against a Keycloak-shaped IdP", () => {
  it("device login and refresh; the audience comes from the client scope's mapper", async () => {
    const f = await setUp("keycloak", example("keycloak"));
    const gateway = await gatewayFor(f);
    const tokens = await deviceLogin(f);
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ aud: "api://acme-ai" });
    expect(await gatewayStatus(gateway, tokens.accessToken)).toBe(200);
    const refreshed = await refreshBySession(f, tokens);
    expect(await gatewayStatus(gateway, refreshed.accessToken)).toBe(200);
  });

  it("a client that enforces PKCE: the profile sends a code challenge, so device login and refresh work", async () => {
    const f = await setUp("keycloak", example("keycloak"), { idp: { pkce: true } });
    expect(f.rt.preset.auth.deviceFlow.pkce).toBe(true);
    const gateway = await gatewayFor(f);
    const tokens = await deviceLogin(f);
    const [deviceRequest] = requestsTo(f.idp, "device_authorization");
    expect(deviceRequest?.parameters).toEqual(
      expect.arrayContaining(["code_challenge", "code_challenge_method"]),
    );
    expect(
      requestsTo(f.idp, "token", DEVICE_GRANT).every((r) => r.parameters.includes("code_verifier")),
    ).toBe(true);
    expect(f.idp.requests.filter((r) => r.refused !== undefined)).toEqual([]);
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ aud: "api://acme-ai" });
    expect(await gatewayStatus(gateway, tokens.accessToken)).toBe(200);
    const refreshed = await refreshBySession(f, tokens);
    expect(await gatewayStatus(gateway, refreshed.accessToken)).toBe(200);
  });

  it("without the profile's PKCE (auth.deviceFlow.pkce: false) the client refuses the device request, with Keycloak's own words", async () => {
    const preset = example("keycloak");
    const f = await setUp(
      "keycloak",
      { ...preset, auth: { ...preset.auth, deviceFlow: { ...preset.auth?.deviceFlow, pkce: false } } },
      { idp: { pkce: true } },
    );
    const error = await rejection(beginLogin(f.rt, "device"));
    expect(error.code).toBe(ErrorCode.IDP_REJECTED);
    expect(error.message).toMatch(/invalid_request \(Missing parameter: code_challenge_method\)/);
  });
});

describe("google example against a Google-shaped IdP", () => {
  it("verification_url, the secret only at the token endpoint, an opaque token, a refresh that keeps the refresh token", async () => {
    const f = await setUp("google", example("google"));
    const tokens = await deviceLogin(f);
    expect(isJwt(tokens.accessToken)).toBe(false);
    expect(tokens.expiresAt - tokens.obtainedAt).toBe(f.idp.accessTokenTtlSeconds * 1000);
    expect(tokens.refreshToken).toEqual(expect.any(String));

    const refreshed = await refreshBySession(f, tokens);
    expect(refreshed.refreshToken).toBe(tokens.refreshToken);
    const again = await refreshBySession(f, refreshed);
    expect(again.refreshToken).toBe(tokens.refreshToken);

    const logout = await f.rt.session().logout();
    expect(logout).toMatchObject({ revoked: true, hadSession: true });
    expect(f.idp.requests.map((r) => [r.endpoint, r.grantType ?? "-", r.clientSecret])).toEqual([
      ["device_authorization", "-", false],
      ["token", "urn:ietf:params:oauth:grant-type:device_code", true],
      ["token", "refresh_token", true],
      ["token", "refresh_token", true],
      ["revocation", "-", false],
    ]);
    expect(f.idp.requests.every((r) => r.refused === undefined)).toBe(true);
    expect(requestsTo(f.idp, "device_authorization")[0]?.scope).toBe("openid profile email");
  });

  it("a wrong secret: the poll fails with invalid_client, and the secret is in no message", async () => {
    const f = await setUp("google", example("google"), {
      oidc: { clientSecret: "GOCSPX-wrong-secret-value" },
    });
    const settings = f.rt.requireOidc();
    const auth = await startDeviceAuthorization(settings);
    await approveDevice(auth.verificationUri, { userCode: auth.userCode });
    const error = await rejection(pollDeviceToken(settings, auth, { sleep: async () => {} }));
    expect(error.code).toBe(ErrorCode.DEVICE_FLOW_FAILED);
    expect(error.message).toMatch(/invalid_client/);
    expect(`${error.message}\n${error.hint}`).not.toContain("GOCSPX-wrong-secret-value");
  });

  it("offline_access in the scopes is refused by Google; the profile leaves it out", async () => {
    const f = await setUp("google", example("google"), {
      oidc: { scopes: ["openid", "email", "offline_access"] },
    });
    const error = await rejection(startDeviceAuthorization(f.rt.requireOidc()));
    expect(error.code).toBe(ErrorCode.IDP_REJECTED);
    expect(error.message).toMatch(/invalid_scope/);
  });
});

describe("ping profile against a PingFederate-shaped IdP (reference tokens)", () => {
  const ping: PresetDocument = {
    id: "acme-ping",
    provider: { id: "acmePing", baseURL: "https://ai.acme.example/v1" },
    oidc: { profile: "ping", issuer: null, clientId: null, audience: "api://acme-ai" },
  };

  it("an opaque access token is used while fresh (no refresh), its expiry is expires_in, then it is refreshed", async () => {
    const f = await setUp("ping", ping, { idp: { idp: { accessTokenTtlSeconds: 600 } } });
    const tokens = await deviceLogin(f);
    expect(isJwt(tokens.accessToken)).toBe(false);
    expect(tokens.expiresAt - tokens.obtainedAt).toBe(600_000);
    f.clock.advance(200_000);
    expect(await f.rt.session().getAccessToken()).toBe(tokens.accessToken);
    expect(f.idp.upstream.counts.refreshGrant).toBe(0);
    const refreshed = await refreshBySession(f, tokens);
    expect(isJwt(refreshed.accessToken)).toBe(false);
    expect(f.idp.upstream.counts.refreshGrant).toBe(1);
  });
});
