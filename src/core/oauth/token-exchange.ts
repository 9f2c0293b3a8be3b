import * as oauth from "oauth4webapi";
import { type Clock, systemClock, type TokenSet } from "../ports.js";
import { type OidcSettings, type RequestContext, requestOptions } from "./client.js";
import { type ClientAuthentication, clientAuthFor, confidentialClient } from "./client-auth.js";
import { audienceParameters, requestedScopes } from "./compat.js";
import { discover, requireEndpoint } from "./discovery.js";
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from "./token-types.js";
import { toTokenSet } from "./tokens.js";

export interface TokenExchangeRequest {
  clientId: string;
  auth: ClientAuthentication;
  scopes: readonly string[];
  subjectToken: string;
  subjectTokenType: string;
}

/**
 * RFC 8693: trade a token from elsewhere (a CI job's OIDC token, a Kubernetes service-account
 * token) for an access token of this issuer, through oauth4webapi's generic token endpoint request.
 */
export async function tokenExchangeGrant(
  settings: OidcSettings,
  request: TokenExchangeRequest,
  ctx: RequestContext & { clock?: Clock } = {},
): Promise<TokenSet> {
  const as = await discover(settings, ctx);
  const endpoint = requireEndpoint(as, "token_endpoint");
  const client = confidentialClient(request.clientId, request.auth);
  const parameters: Record<string, string> = {
    subject_token: request.subjectToken,
    subject_token_type: request.subjectTokenType,
    requested_token_type: ACCESS_TOKEN_TYPE,
    ...audienceParameters(settings),
  };
  // The audience as a scope where the preset asks for that (Entra ID: `<audience>/.default`).
  const scopes = requestedScopes({ ...settings, scopes: [...request.scopes] });
  if (scopes.length > 0) parameters.scope = scopes.join(" ");
  const response = await oauth.genericTokenEndpointRequest(
    as,
    client,
    clientAuthFor(request.auth),
    TOKEN_EXCHANGE_GRANT,
    parameters,
    requestOptions(endpoint, ctx),
  );
  const answer = await oauth.processGenericTokenEndpointResponse(as, client, response);
  return toTokenSet(answer, (ctx.clock ?? systemClock).now());
}
