import * as oauth from "oauth4webapi";
import { ErrorCode, isOidcError, OidcError } from "../errors.js";
import { assertSecureUrl } from "../loopback.js";
import { type Clock, systemClock, type TokenSet } from "../ports.js";
import { registerSecret } from "../redact.js";
import {
  clientFor,
  idpText,
  type OidcSettings,
  type RequestContext,
  requestOptions,
  toIdpError,
} from "./client.js";
import { audienceParameters, requestedScopes, tokenEndpointAuth } from "./compat.js";
import { discover, requireEndpoint } from "./discovery.js";
import { toTokenSet } from "./tokens.js";

/**
 * One authorization request of the authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636
 * S256), as RFC 8252 asks of native apps. Holds what the answer is checked against; the code
 * verifier is a secret and never leaves the process.
 */
export interface AuthorizationRequest {
  /** The URL the user opens in a browser. */
  url: string;
  redirectUri: string;
  issuer: string;
  state: string;
  nonce?: string;
  codeVerifier: string;
}

/** Builds the authorization URL (oauth4webapi makes the PKCE pair, state and nonce). */
export async function startAuthorization(
  settings: OidcSettings,
  redirectUri: string,
  ctx: RequestContext = {},
): Promise<AuthorizationRequest> {
  const as = await discover(settings, ctx);
  const endpoint = requireEndpoint(as, "authorization_endpoint");
  // The user's browser goes there: the same https rule as every other endpoint.
  const url = assertSecureUrl(endpoint, "The authorization endpoint");
  const codeVerifier = oauth.generateRandomCodeVerifier();
  registerSecret(codeVerifier);
  const state = oauth.generateRandomState();
  const openid = settings.scopes.includes("openid");
  const nonce = openid ? oauth.generateRandomNonce() : undefined;
  const parameters: Record<string, string> = {
    client_id: settings.clientId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: requestedScopes(settings).join(" "),
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    ...(nonce && { nonce }),
    ...audienceParameters(settings),
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return {
    url: url.href,
    redirectUri,
    issuer: as.issuer,
    state,
    codeVerifier,
    ...(nonce && { nonce }),
  };
}

/**
 * Checks the answer the browser brought back (state, RFC 9207 `iss`, an error from the IdP) and
 * exchanges the code for tokens. The ID token is validated as oauth4webapi does (issuer, audience,
 * times, nonce).
 */
export async function completeAuthorization(
  settings: OidcSettings,
  request: AuthorizationRequest,
  answer: URLSearchParams,
  ctx: RequestContext & { clock?: Clock } = {},
): Promise<TokenSet> {
  const as = await discover(settings, ctx);
  const client = clientFor(settings);
  registerSecret(answer.get("code"));
  let checked: URLSearchParams;
  try {
    checked = oauth.validateAuthResponse(as, client, answer, request.state);
  } catch (error) {
    throw answerError(error);
  }
  const endpoint = requireEndpoint(as, "token_endpoint");
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      tokenEndpointAuth(settings),
      checked,
      request.redirectUri,
      request.codeVerifier,
      { ...requestOptions(endpoint, ctx), additionalParameters: audienceParameters(settings) },
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: request.nonce ?? oauth.expectNoNonce,
      requireIdToken: request.nonce !== undefined,
    });
    return toTokenSet(tokens, (ctx.clock ?? systemClock).now());
  } catch (error) {
    const mapped = toIdpError(error, "Exchanging the authorization code", ctx.signal);
    if (isOidcError(mapped, ErrorCode.IDP_UNAVAILABLE) || isOidcError(mapped, ErrorCode.ABORTED))
      throw mapped;
    throw new OidcError(ErrorCode.BROWSER_LOGIN_FAILED, `The browser login failed: ${mapped.message}`, {
      cause: mapped,
      hint: "Start the login again. If it keeps failing, check that the client allows the authorization code grant with this redirect URI.",
    });
  }
}

const AGAIN = "Start the login again and finish it in the browser window it opens (or the newest link).";

/** What is wrong with the browser's answer, without echoing the code or anything secret. */
function answerError(error: unknown): OidcError {
  if (error instanceof oauth.AuthorizationResponseError) {
    const description = error.error_description ? ` (${idpText(error.error_description)})` : "";
    if (error.error === "access_denied") {
      return new OidcError(ErrorCode.BROWSER_LOGIN_DENIED, `The browser login was denied${description}.`, {
        hint: "Start the login again and allow access; if access is not offered, ask your administrator.",
      });
    }
    return new OidcError(
      ErrorCode.BROWSER_LOGIN_FAILED,
      `The identity provider ended the browser login with ${idpText(error.error)}${description}.`,
      { hint: AGAIN },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/"state"/.test(message)) {
    return new OidcError(
      ErrorCode.BROWSER_LOGIN_FAILED,
      "The browser login's answer does not belong to this login (its state does not match).",
      { hint: AGAIN },
    );
  }
  if (/"iss"/.test(message)) {
    return new OidcError(
      ErrorCode.BROWSER_LOGIN_FAILED,
      "The browser login's answer names another issuer than the one the login was started with.",
      { hint: AGAIN },
    );
  }
  return new OidcError(
    ErrorCode.BROWSER_LOGIN_FAILED,
    `The browser login's answer is not usable: ${message}.`,
    {
      hint: AGAIN,
    },
  );
}

/**
 * The paste fallback: the URL the browser was redirected to (copied from its address bar), or the
 * bare code. A bare code carries no state or issuer of its own: they are the login's, and PKCE
 * still ties the code to this login's verifier. Throws BROWSER_LOGIN_FAILED for text that is neither.
 */
export function pastedAnswer(text: string, request: AuthorizationRequest): URLSearchParams {
  const value = text.trim();
  if (/^https?:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw pasteError("That is not a complete URL.");
    }
    const params = new URLSearchParams(url.search);
    // response_mode=fragment answers in the fragment.
    if (!params.has("code") && !params.has("error") && url.hash.length > 1) {
      for (const [k, v] of new URLSearchParams(url.hash.slice(1))) params.append(k, v);
    }
    if (!params.has("code") && !params.has("error"))
      throw pasteError("That URL has no code (nor an error) in it.");
    return params;
  }
  if (!/^[\x21-\x7e]{4,2048}$/.test(value))
    throw pasteError("That is neither the redirected URL nor a code.");
  return new URLSearchParams({ code: value, state: request.state, iss: request.issuer });
}

function pasteError(message: string): OidcError {
  return new OidcError(ErrorCode.BROWSER_LOGIN_FAILED, message, {
    hint: "Paste the whole address the browser shows after you signed in (it starts with the redirect URI), or just its code.",
  });
}
