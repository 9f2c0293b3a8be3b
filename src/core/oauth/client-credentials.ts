import * as oauth from "oauth4webapi";
import { type Clock, systemClock, type TokenSet } from "../ports.js";
import { type OidcSettings, type RequestContext, requestOptions } from "./client.js";
import { type ClientAuthentication, clientAuthFor, confidentialClient } from "./client-auth.js";
import { audienceParameters, requestedScopes } from "./compat.js";
import { discover, requireEndpoint } from "./discovery.js";
import { toTokenSet } from "./tokens.js";

export interface ClientCredentialsRequest {
  clientId: string;
  auth: ClientAuthentication;
  scopes: readonly string[];
}

/**
 * RFC 6749 §4.4: a token for the client itself, authenticated with a secret (basic or post), a
 * `private_key_jwt` it signs, or a ready-made client assertion. Errors are oauth4webapi's; the
 * caller maps them (machine-grant.ts).
 */
export async function clientCredentialsGrant(
  settings: OidcSettings,
  request: ClientCredentialsRequest,
  ctx: RequestContext & { clock?: Clock } = {},
): Promise<TokenSet> {
  const as = await discover(settings, ctx);
  const endpoint = requireEndpoint(as, "token_endpoint");
  const client = confidentialClient(request.clientId, request.auth);
  const parameters: Record<string, string> = { ...audienceParameters(settings) };
  // The audience as a scope where the preset asks for that (Entra ID: `<audience>/.default`).
  const scopes = requestedScopes({ ...settings, scopes: [...request.scopes] });
  if (scopes.length > 0) parameters.scope = scopes.join(" ");
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    clientAuthFor(request.auth),
    parameters,
    requestOptions(endpoint, ctx),
  );
  const answer = await oauth.processClientCredentialsResponse(as, client, response);
  return toTokenSet(answer, (ctx.clock ?? systemClock).now());
}
