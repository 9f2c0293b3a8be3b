/**
 * The one place that bends to IdPs (src/core/oauth/compat.ts): the device answer rewrite, how the
 * audience travels, where the client secret goes, and token expiry from `expires_in` only.
 */
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { DEFAULT_TOKEN_LIFETIME_S, MAX_IDP_MESSAGE_CHARS } from "../../src/core/defaults.js";
import { ErrorCode, isOidcError } from "../../src/core/errors.js";
import type { OidcSettings } from "../../src/core/oauth/client.js";
import {
  audienceParameters,
  compatOf,
  deviceAnswerHint,
  normalizeDeviceAuthorizationResponse,
  plainText,
  refreshParameters,
  requestedScopes,
  STRICT_COMPAT,
  tokenEndpointAuth,
} from "../../src/core/oauth/compat.js";
import { toTokenSet } from "../../src/core/oauth/tokens.js";

const as: oauth.AuthorizationServer = { issuer: "https://idp.example" };
const client: oauth.Client = { client_id: "c" };

const settings = (over: Partial<OidcSettings> = {}): OidcSettings => ({
  issuer: "https://idp.example",
  clientId: "c",
  scopes: ["openid", "offline_access"],
  audience: "api://gw",
  audienceParam: "none",
  ...over,
});

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const googleAnswer = {
  device_code: "dc-1",
  user_code: "ABCD-EFGH",
  verification_url: "https://www.google.com/device",
  expires_in: 1800,
  interval: 5,
};
const entraV1Answer = {
  device_code: "dc-2",
  user_code: "FGH7KLM2",
  verification_url: "https://microsoft.com/devicelogin",
  expires_in: "900",
  interval: "5",
  message:
    "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FGH7KLM2 to authenticate.",
};

describe("device answer rewrite (compat.verificationUrl)", () => {
  it("strict: oauth4webapi refuses verification_url, and the hint names the switch", async () => {
    const response = await normalizeDeviceAuthorizationResponse(json(googleAnswer), STRICT_COMPAT);
    const error = await oauth.processDeviceAuthorizationResponse(as, client, response).catch((e) => e);
    expect(error).toBeInstanceOf(oauth.OperationProcessingError);
    expect(String(error.message)).toMatch(/verification_uri/);
    expect(deviceAnswerHint(error)).toMatch(/oidc\.compat\.verificationUrl/);
  });

  it("on: Google's answer becomes RFC 8628 and passes oauth4webapi's checks", async () => {
    const compat = { ...STRICT_COMPAT, verificationUrl: true };
    const response = await normalizeDeviceAuthorizationResponse(json(googleAnswer), compat);
    const answer = await oauth.processDeviceAuthorizationResponse(as, client, response);
    expect(answer).toMatchObject({
      device_code: "dc-1",
      user_code: "ABCD-EFGH",
      verification_uri: "https://www.google.com/device",
      expires_in: 1800,
      interval: 5,
    });
    expect(answer).not.toHaveProperty("verification_url");
  });

  it("on: Entra v1's numbers sent as strings become numbers, its message is kept", async () => {
    const compat = { ...STRICT_COMPAT, verificationUrl: true };
    const answer = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await normalizeDeviceAuthorizationResponse(json(entraV1Answer), compat),
    );
    expect(answer.expires_in).toBe(900);
    expect(answer.interval).toBe(5);
    expect(answer.verification_uri).toBe("https://microsoft.com/devicelogin");
    expect(answer.message).toBe(entraV1Answer.message);
    // Without the rewrite, the string interval alone is refused.
    const strict = await oauth
      .processDeviceAuthorizationResponse(as, client, json({ ...entraV1Answer, verification_uri: "x" }))
      .catch((e) => e);
    expect(strict).toBeInstanceOf(oauth.OperationProcessingError);
  });

  it("on: a standard answer passes unchanged; verification_uri wins over verification_url", async () => {
    const compat = { ...STRICT_COMPAT, verificationUrl: true };
    const both = { ...googleAnswer, verification_uri: "https://idp.example/device" };
    const answer = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await normalizeDeviceAuthorizationResponse(json(both), compat),
    );
    expect(answer.verification_uri).toBe("https://idp.example/device");
  });

  it("leaves error answers and non-JSON bodies to oauth4webapi", async () => {
    const compat = { ...STRICT_COMPAT, verificationUrl: true };
    const error = json({ error: "invalid_client", error_description: "no" }, 401);
    expect(await normalizeDeviceAuthorizationResponse(error, compat)).toBe(error);
    const html = new Response("<html>", { status: 200, headers: { "content-type": "text/html" } });
    expect(await normalizeDeviceAuthorizationResponse(html, compat)).toBe(html);
    const rejected = await oauth
      .processDeviceAuthorizationResponse(
        as,
        client,
        await normalizeDeviceAuthorizationResponse(error, compat),
      )
      .catch((e) => e);
    expect(rejected).toBeInstanceOf(oauth.ResponseBodyError);
    expect(rejected.error).toBe("invalid_client");
  });
});

describe("how the audience is requested", () => {
  it("none / audience / resource parameters", () => {
    expect(audienceParameters(settings())).toEqual({});
    expect(audienceParameters(settings({ audienceParam: "audience" }))).toEqual({ audience: "api://gw" });
    expect(audienceParameters(settings({ audienceParam: "resource" }))).toEqual({ resource: "api://gw" });
    expect(audienceParameters(settings({ audienceParam: "audience", audience: null }))).toEqual({});
  });

  it("scope: <audience>/.default is added, unless a scope already names the audience; no parameter", () => {
    const entra = settings({ audienceParam: "scope" });
    expect(requestedScopes(entra)).toEqual(["openid", "offline_access", "api://gw/.default"]);
    expect(audienceParameters(entra)).toEqual({});
    const named = settings({ audienceParam: "scope", scopes: ["openid", "api://gw/access_as_user"] });
    expect(requestedScopes(named)).toEqual(["openid", "api://gw/access_as_user"]);
    expect(requestedScopes(settings())).toEqual(["openid", "offline_access"]);
  });

  it("refresh: the audience parameter again; the scopes only with compat.refreshScope", () => {
    expect(refreshParameters(settings({ audienceParam: "resource" }))).toEqual({ resource: "api://gw" });
    expect(refreshParameters(settings({ audienceParam: "scope" }))).toEqual({});
    expect(refreshParameters(settings({ audienceParam: "scope", compat: { refreshScope: true } }))).toEqual({
      scope: "openid offline_access api://gw/.default",
    });
  });
});

describe("client authentication at the token endpoint", () => {
  /** What a ClientAuth adds to a request, observed through oauth4webapi's own request code. */
  async function sent(auth: oauth.ClientAuth): Promise<{ body: string; authorization: string | null }> {
    let seen: { body: string; authorization: string | null } | undefined;
    const fetchSpy = async (_url: string, init: RequestInit) => {
      seen = {
        body: String(init.body),
        authorization: new Headers(init.headers).get("authorization"),
      };
      return json({ access_token: "a", token_type: "bearer" });
    };
    await oauth.refreshTokenGrantRequest(
      { ...as, token_endpoint: "https://idp.example/token" },
      client,
      auth,
      "r",
      {
        [oauth.customFetch]: fetchSpy,
      },
    );
    if (!seen) throw new Error("no request");
    return seen;
  }

  it("none sends no secret", async () => {
    const { body, authorization } = await sent(tokenEndpointAuth(settings()));
    expect(body).not.toMatch(/client_secret/);
    expect(authorization).toBeNull();
  });

  it("client_secret_post and client_secret_basic send the preset's secret", async () => {
    const post = await sent(
      tokenEndpointAuth(
        settings({ clientSecret: "s3cret", compat: { tokenEndpointAuth: "client_secret_post" } }),
      ),
    );
    expect(new URLSearchParams(post.body).get("client_secret")).toBe("s3cret");
    const basic = await sent(
      tokenEndpointAuth(
        settings({ clientSecret: "s3cret", compat: { tokenEndpointAuth: "client_secret_basic" } }),
      ),
    );
    expect(basic.authorization).toBe(`Basic ${Buffer.from("c:s3cret").toString("base64")}`);
  });

  it("a method that needs a secret without one: PRESET_INCOMPLETE naming oidc.clientSecret", () => {
    let error: unknown;
    try {
      tokenEndpointAuth(settings({ compat: { tokenEndpointAuth: "client_secret_post" } }));
    } catch (e) {
      error = e;
    }
    expect(isOidcError(error, ErrorCode.PRESET_INCOMPLETE)).toBe(true);
    expect((error as Error).message).toMatch(/client secret/);
    expect((error as { hint: string }).hint).toMatch(/oidc\.clientSecret/);
  });

  it("absent compat fields are strict", () => {
    expect(compatOf({})).toEqual(STRICT_COMPAT);
    expect(compatOf({ compat: { refreshScope: true } })).toEqual({ ...STRICT_COMPAT, refreshScope: true });
  });
});

describe("IdP text before a terminal", () => {
  it("drops control, zero-width and bidi characters and bounds the length", () => {
    expect(plainText("Open \u001b[31mthis\u001b[0m\r\npage\u202e now")).toBe("Open [31mthis [0m page now");
    expect(plainText("x".repeat(MAX_IDP_MESSAGE_CHARS + 1))).toBe("x".repeat(MAX_IDP_MESSAGE_CHARS));
    expect(plainText(" \u0007 ")).toBeUndefined();
    expect(plainText(42)).toBeUndefined();
  });
});

describe("access token expiry", () => {
  const now = 1_700_000_000_000;
  /** A JWT whose exp says something else than expires_in. */
  const jwt = (exp: number) =>
    `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ exp })).toString("base64url")}.`;

  it("an opaque token expires after expires_in", () => {
    const set = toTokenSet(
      { access_token: "2YotnFZFEjr1zCsicMWpAA", token_type: "bearer", expires_in: 120 },
      now,
    );
    expect(set.expiresAt).toBe(now + 120_000);
  });

  it("a JWT's own exp is never read: expires_in decides", () => {
    const set = toTokenSet(
      { access_token: jwt(now / 1000 + 9999), token_type: "bearer", expires_in: 60 },
      now,
    );
    expect(set.expiresAt).toBe(now + 60_000);
  });

  it("without expires_in, the documented default lifetime, even for a JWT with exp", () => {
    const set = toTokenSet({ access_token: jwt(now / 1000 + 30), token_type: "bearer" }, now);
    expect(set.expiresAt).toBe(now + DEFAULT_TOKEN_LIFETIME_S * 1000);
  });
});
