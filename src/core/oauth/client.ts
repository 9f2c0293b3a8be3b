import * as oauth from "oauth4webapi";
import { IDP_TIMEOUT_MS } from "../defaults.js";
import { ErrorCode, OidcError } from "../errors.js";
import { assertSecureUrl, isInsecureLoopback } from "../loopback.js";
import { plainText } from "../plain-text.js";
import type { FetchLike } from "../ports.js";
import { redact } from "../redact.js";

export type TokenEndpointAuth = "none" | "client_secret_post" | "client_secret_basic";

/** Deviations of an IdP from the RFCs, one switch each; compat.ts applies them. */
export interface OidcCompat {
  /**
   * The device authorization answer names the URL `verification_url` (Google, Entra ID's v1
   * endpoint) and may send `expires_in`/`interval` as strings (Entra v1). The answer is rewritten
   * to RFC 8628 before oauth4webapi checks it.
   */
  verificationUrl: boolean;
  /** How the client authenticates at the token endpoint (device polls and refreshes). */
  tokenEndpointAuth: TokenEndpointAuth;
  /** Send the requested scopes with every refresh (Entra ID's v2 endpoint asks for `scope`). */
  refreshScope: boolean;
  /**
   * How logout revokes: RFC 7009 at the revocation endpoint, or the `delete_token` grant at the
   * token endpoint (glewlwyd, whose revocation endpoint accepts confidential clients only).
   */
  revocation: "rfc7009" | "delete-token-grant";
  /** The `iss` claim of access tokens when it is not the issuer (Entra ID v1 tokens: `https://sts.windows.net/{tenant}/`). For the gateway, not the client. */
  accessTokenIssuer: string | null;
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  scopes: string[];
  audience?: string | null;
  /** How the audience is requested: not at all, an `audience` or `resource` parameter, or a scope (see compat.ts). */
  audienceParam: "none" | "audience" | "resource" | "scope";
  endpoints?: {
    authorization?: string;
    deviceAuthorization?: string;
    token?: string;
    revocation?: string;
    jwks?: string;
  };
  /** Sent only to the token endpoint, and only when `compat.tokenEndpointAuth` asks for it. */
  clientSecret?: string | null;
  /** Deviations of the IdP from the RFCs; absent fields are strict (compat.ts). */
  compat?: Partial<OidcCompat>;
}

export interface RequestContext {
  fetch?: FetchLike;
  signal?: AbortSignal;
  /** Per-request timeout for calls to the issuer. */
  timeoutMs?: number;
}

/** Options oauth4webapi needs for one request: custom fetch, signal, and http only for loopback. */
export function requestOptions(
  url: string,
  ctx: RequestContext,
): oauth.HttpRequestOptions<"GET" | "POST", URLSearchParams> {
  const timeout = AbortSignal.timeout(ctx.timeoutMs ?? IDP_TIMEOUT_MS);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
  const options: Record<string | symbol, unknown> = { signal };
  if (ctx.fetch) {
    const f = ctx.fetch;
    options[oauth.customFetch] = (u: string, init: RequestInit) => f(u, init);
  }
  if (isInsecureLoopback(url)) options[oauth.allowInsecureRequests] = true;
  return options as oauth.HttpRequestOptions<"GET" | "POST", URLSearchParams>;
}

/**
 * The ID token is read only for display (who is logged in); the gateway verifies access tokens.
 * A laptop clock off by minutes must not break logins, so ID token times get a wide tolerance.
 */
export const ID_TOKEN_CLOCK_TOLERANCE_S = 15 * 60;

export function clientFor(settings: OidcSettings): oauth.Client {
  return {
    client_id: settings.clientId,
    token_endpoint_auth_method: "none",
    [oauth.clockTolerance]: ID_TOKEN_CLOCK_TOLERANCE_S,
  };
}

/** Client authentication where no secret is ever sent (device authorization, revocation). */
export const clientAuth = oauth.None();

export function checkIssuer(settings: OidcSettings): URL {
  return assertSecureUrl(settings.issuer, "The OIDC issuer", "oidc.issuer");
}

/** What to do when the identity provider cannot be reached or is failing (transient). */
const UNAVAILABLE_HINT =
  "Check that this machine can reach the identity provider (network, VPN, proxy), then try again.";
/** What to check when the identity provider refuses a request or answers something unusable. */
const REJECTED_HINT =
  "Check the preset's OIDC settings (oidc.issuer, oidc.clientId, oidc.scopes, oidc.audience) against the client registered at the identity provider.";

/**
 * Maps anything thrown by fetch / oauth4webapi to the error model: network failures, timeouts and
 * 5xx are IDP_UNAVAILABLE (transient, the session is kept); OAuth error answers keep their code.
 * `what` names the step and the issuer ("Refreshing the access token at https://…"), so that every
 * message says which identity provider failed.
 */
/**
 * The IdP's own words (and any text a library quotes from its answer): cleaned of control
 * characters and secrets, and cut short. An IdP may echo the request back, refresh token or device
 * code included, and this text reaches stderr and the 401 body OpenCode shows.
 */
const quote = (text: unknown) => redact(plainText(text) ?? "");

/** The IdP's own words (an `error`, an `error_description`), cleaned as in toIdpError, for other messages. */
export const idpText = quote;

export function toIdpError(error: unknown, what: string, signal?: AbortSignal): OidcError {
  if (error instanceof OidcError) return error;
  if (signal?.aborted) return new OidcError(ErrorCode.ABORTED, `${what} was cancelled.`, { cause: error });
  if (error instanceof oauth.ResponseBodyError) {
    if (error.status >= 500 || error.status === 429) {
      return new OidcError(
        ErrorCode.IDP_UNAVAILABLE,
        `${what} failed: the identity provider answered HTTP ${error.status}.`,
        // No `cause` (here and below): the IdP's raw answer would carry an echoed token into any
        // log of the error.
        { hint: UNAVAILABLE_HINT, details: { status: error.status } },
      );
    }
    const description = error.error_description ? ` (${quote(error.error_description)})` : "";
    return new OidcError(
      ErrorCode.IDP_REJECTED,
      `${what} was rejected by the identity provider: ${quote(error.error)}${description}.`,
      { hint: REJECTED_HINT, details: { error: quote(error.error), status: error.status } },
    );
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    // A 401 with a challenge (a client that failed to authenticate); its body is not read.
    if (error.status >= 500 || error.status === 429) {
      return new OidcError(
        ErrorCode.IDP_UNAVAILABLE,
        `${what} failed: the identity provider answered HTTP ${error.status}.`,
        { hint: UNAVAILABLE_HINT, details: { status: error.status } },
      );
    }
    const code = quote(
      error.cause[0]?.parameters.error ?? (error.status === 401 ? "invalid_client" : `HTTP ${error.status}`),
    );
    return new OidcError(ErrorCode.IDP_REJECTED, `${what} was rejected by the identity provider: ${code}.`, {
      hint: REJECTED_HINT,
      details: { error: code, status: error.status },
    });
  }
  if (error instanceof oauth.OperationProcessingError && error.cause instanceof Response) {
    const status = error.cause.status;
    if (status >= 500 || status === 429) {
      return new OidcError(
        ErrorCode.IDP_UNAVAILABLE,
        `${what} failed: the identity provider answered HTTP ${status}.`,
        { cause: error, hint: UNAVAILABLE_HINT, details: { status } },
      );
    }
  }
  if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError) {
    return new OidcError(ErrorCode.IDP_REJECTED, `${what} failed: ${quote(error.message)}.`, {
      hint: REJECTED_HINT,
    });
  }
  const name = (error as { name?: string })?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new OidcError(
      ErrorCode.IDP_UNAVAILABLE,
      `${what} failed: the identity provider did not answer in time.`,
      { cause: error, hint: UNAVAILABLE_HINT },
    );
  }
  const detail =
    error instanceof Error
      ? error.cause instanceof Error
        ? error.cause.message
        : error.message
      : String(error);
  return new OidcError(
    ErrorCode.IDP_UNAVAILABLE,
    `${what} failed: the identity provider cannot be reached (${quote(detail)}).`,
    { cause: error, hint: UNAVAILABLE_HINT },
  );
}
