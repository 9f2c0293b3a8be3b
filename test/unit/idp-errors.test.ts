/**
 * What a person reads when the identity provider fails a refresh (or a revocation): the code, a
 * message that names the issuer URL, and a hint. The IdP is a fake fetch serving the discovery
 * document and then the failure under test, so every kind of failure is exact and immediate.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { MAX_IDP_MESSAGE_CHARS } from "../../src/core/defaults.js";
import { ErrorCode } from "../../src/core/errors.js";
import type { OidcSettings } from "../../src/core/oauth/client.js";
import { clearDiscoveryCache } from "../../src/core/oauth/discovery.js";
import { refreshTokens } from "../../src/core/oauth/refresh.js";
import { revokeTokens } from "../../src/core/oauth/revoke.js";
import type { FetchLike, SessionKey, TokenSet, TokenStorage } from "../../src/core/ports.js";
import { Session } from "../../src/core/session.js";
import { rejection } from "../support/engine-fixtures.js";

const ISSUER = "https://idp.example.test/oauth2/default";
const SETTINGS: OidcSettings = {
  issuer: ISSUER,
  clientId: "cli",
  scopes: ["openid", "offline_access"],
  audience: null,
  audienceParam: "none",
};
const TOKENS: TokenSet = {
  accessToken: "access-token-value",
  refreshToken: "refresh-token-value",
  tokenType: "bearer",
  obtainedAt: Date.now() - 7_200_000,
  expiresAt: Date.now() - 3_600_000,
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** The IdP's discovery document, then `answer()` for every request to its token or revocation endpoint. */
function idp(answer: () => Response | Promise<Response>): FetchLike {
  return (async (input: string | URL | Request) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === `${ISSUER}/.well-known/openid-configuration`) {
      return json(200, {
        issuer: ISSUER,
        token_endpoint: `${ISSUER}/v1/token`,
        revocation_endpoint: `${ISSUER}/v1/revoke`,
        device_authorization_endpoint: `${ISSUER}/v1/device/authorize`,
      });
    }
    return answer();
  }) as FetchLike;
}

const timeout = () => {
  throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
};
const refused = () => {
  throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 203.0.113.7:443") });
};

beforeEach(() => clearDiscoveryCache());

describe("a refresh the identity provider fails", () => {
  it.each<[string, () => Response | Promise<Response>, string, RegExp]>([
    ["HTTP 500", () => json(500, { error: "server_error" }), ErrorCode.IDP_UNAVAILABLE, /answered HTTP 500/],
    [
      "HTTP 503 without a JSON body",
      () => new Response("down", { status: 503 }),
      ErrorCode.IDP_UNAVAILABLE,
      /answered HTTP 503/,
    ],
    ["HTTP 429", () => json(429, { error: "slow_down" }), ErrorCode.IDP_UNAVAILABLE, /answered HTTP 429/],
    ["a timeout", timeout, ErrorCode.IDP_UNAVAILABLE, /did not answer in time/],
    ["a refused connection", refused, ErrorCode.IDP_UNAVAILABLE, /cannot be reached \(connect ECONNREFUSED/],
    [
      "an OAuth error (invalid_client)",
      () => json(401, { error: "invalid_client", error_description: "client not known" }),
      ErrorCode.IDP_REJECTED,
      /rejected by the identity provider: invalid_client \(client not known\)/,
    ],
    [
      "an answer that is not a token response",
      () => json(200, { nothing: true }),
      ErrorCode.IDP_REJECTED,
      /failed: /,
    ],
  ])("%s: the message names the issuer URL, with a hint", async (_, answer, code, message) => {
    const error = await rejection(refreshTokens(SETTINGS, TOKENS, { fetch: idp(answer) }));
    expect(error.code).toBe(code);
    expect(error.message).toContain(`Refreshing the access token at ${ISSUER}`);
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(
      code === ErrorCode.IDP_UNAVAILABLE
        ? /can reach the identity provider \(network, VPN, proxy\)/
        : /oidc\.clientId.*against the client registered at the identity provider/,
    );
    expect(error.message).not.toContain(TOKENS.refreshToken);
  });

  it("the IdP's error_description is quoted without control characters, secrets or excess length", async () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl";
    const description = `\u001b[2J\u001b[31mbad client\u001b[0m \u202eevil token ${jwt} ${"x".repeat(1000)}`;
    const error = await rejection(
      refreshTokens(SETTINGS, TOKENS, {
        fetch: idp(() => json(400, { error: "invalid_client", error_description: description })),
      }),
    );
    expect(error.code).toBe(ErrorCode.IDP_REJECTED);
    expect(error.message).toContain("bad client");
    expect(error.message).not.toMatch(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u);
    expect(error.message).not.toContain(jwt);
    // The quote is cut at the limit for IdP text (the rest of the message is our own sentence).
    expect(error.message).not.toContain("x".repeat(MAX_IDP_MESSAGE_CHARS));
    expect(error.message.length).toBeLessThan(MAX_IDP_MESSAGE_CHARS + 200);
  });

  it("invalid_grant: SESSION_ENDED naming the issuer, with a hint to log in again", async () => {
    const error = await rejection(
      refreshTokens(SETTINGS, TOKENS, { fetch: idp(() => json(400, { error: "invalid_grant" })) }),
    );
    expect(error.code).toBe(ErrorCode.SESSION_ENDED);
    expect(error.message).toContain(ISSUER);
    expect(error.hint).toMatch(/log in again/i);
  });

  it("through a Session: the issuer, that the login is kept, and the hint reach the caller", async () => {
    let stored: TokenSet | undefined = TOKENS;
    const storage: TokenStorage = {
      read: async () => stored,
      async transact(_key: SessionKey, fn) {
        const { next, result } = await fn(stored);
        if (next !== undefined) stored = next ?? undefined;
        return result;
      },
    };
    const session = new Session({
      key: { preset: "p", issuer: ISSUER, clientId: "cli" },
      settings: SETTINGS,
      storage,
      skewSeconds: 300,
      fetch: idp(() => json(502, { error: "bad_gateway" })),
      sleep: async () => {},
    });
    const error = await rejection(session.getAccessToken());
    expect(error.code).toBe(ErrorCode.IDP_UNAVAILABLE);
    expect(error.message).toContain(`Refreshing the access token at ${ISSUER} failed`);
    expect(error.message).toMatch(/login is kept/);
    expect(error.hint).toMatch(/network, VPN, proxy/);
    expect(error.describe()).toContain(error.hint);
    expect(stored?.refreshToken).toBe(TOKENS.refreshToken);
  });
});

describe("a revocation the identity provider fails", () => {
  it("the note names the issuer URL", async () => {
    const result = await revokeTokens(SETTINGS, TOKENS, { fetch: idp(() => json(500, {})) });
    expect(result.revoked).toBe(false);
    expect(result.note).toContain(`Revoking the tokens at ${ISSUER} failed`);
  });
});
