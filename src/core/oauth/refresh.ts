import * as oauth from "oauth4webapi";
import { ErrorCode, OidcError } from "../errors.js";
import { type Clock, systemClock, type TokenSet } from "../ports.js";
import { clientFor, type OidcSettings, type RequestContext, requestOptions, toIdpError } from "./client.js";
import { refreshParameters, tokenEndpointAuth } from "./compat.js";
import { discover, requireEndpoint } from "./discovery.js";
import { toTokenSet } from "./tokens.js";

/**
 * One refresh-token grant. `invalid_grant` becomes SESSION_ENDED (the login is over); network
 * trouble and 5xx become IDP_UNAVAILABLE (transient: the caller keeps the session and retries).
 */
export async function refreshTokens(
  settings: OidcSettings,
  current: TokenSet,
  ctx: RequestContext & { clock?: Clock } = {},
): Promise<TokenSet> {
  if (!current.refreshToken) {
    throw new OidcError(
      ErrorCode.SESSION_ENDED,
      `The login to ${settings.issuer} has expired and the identity provider gave no refresh token.`,
      { hint: "Log in again." },
    );
  }
  const as = await discover(settings, ctx);
  const endpoint = requireEndpoint(as, "token_endpoint");
  const client = clientFor(settings);
  try {
    const options = { ...requestOptions(endpoint, ctx), additionalParameters: refreshParameters(settings) };
    const response = await oauth.refreshTokenGrantRequest(
      as,
      client,
      tokenEndpointAuth(settings),
      current.refreshToken,
      options,
    );
    const answer = await oauth.processRefreshTokenResponse(as, client, response);
    return toTokenSet(answer, (ctx.clock ?? systemClock).now(), current);
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.error === "invalid_grant") {
      throw new OidcError(
        ErrorCode.SESSION_ENDED,
        `The login has ended: the identity provider ${settings.issuer} no longer accepts its refresh token.`,
        // No `cause`: the IdP's raw answer could carry an echoed token into a log of the error.
        { hint: "Log in again." },
      );
    }
    // Some servers (glewlwyd) refuse a spent or revoked refresh token with a bare HTTP 400, no
    // OAuth error body. Retrying the same token cannot help: the login is over, as with invalid_grant.
    if (
      error instanceof oauth.OperationProcessingError &&
      error.cause instanceof Response &&
      error.cause.status === 400
    ) {
      throw new OidcError(
        ErrorCode.SESSION_ENDED,
        `The login has ended: the identity provider ${settings.issuer} refused its refresh token (HTTP 400 without an error code).`,
        { hint: "Log in again.", cause: error },
      );
    }
    throw toIdpError(error, `Refreshing the access token at ${settings.issuer}`, ctx.signal);
  }
}
