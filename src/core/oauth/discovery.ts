import * as oauth from "oauth4webapi";
import { DISCOVERY_CACHE_MS as CACHE_MS } from "../defaults.js";
import { ErrorCode, OidcError } from "../errors.js";
import { plainText } from "../plain-text.js";
import { checkIssuer, type OidcSettings, type RequestContext, requestOptions, toIdpError } from "./client.js";

const cache = new Map<string, { at: number; as: oauth.AuthorizationServer }>();
const inflight = new Map<string, Promise<oauth.AuthorizationServer>>();

/**
 * The issuer's metadata (OIDC discovery), cached in memory per process, with the preset's explicit
 * endpoints laid over it. Concurrent callers share one request.
 */
export async function discover(
  settings: OidcSettings,
  ctx: RequestContext = {},
): Promise<oauth.AuthorizationServer> {
  const issuer = checkIssuer(settings);
  const hit = cache.get(issuer.href);
  let as: oauth.AuthorizationServer;
  if (hit && Date.now() - hit.at < CACHE_MS) {
    as = hit.as;
  } else {
    let pending = inflight.get(issuer.href);
    if (!pending) {
      pending = fetchMetadata(issuer, ctx).finally(() => inflight.delete(issuer.href));
      inflight.set(issuer.href, pending);
    }
    as = await pending;
  }
  const e = settings.endpoints ?? {};
  return {
    ...as,
    ...(e.authorization && { authorization_endpoint: e.authorization }),
    ...(e.deviceAuthorization && { device_authorization_endpoint: e.deviceAuthorization }),
    ...(e.token && { token_endpoint: e.token }),
    ...(e.revocation && { revocation_endpoint: e.revocation }),
    ...(e.jwks && { jwks_uri: e.jwks }),
  };
}

async function fetchMetadata(issuer: URL, ctx: RequestContext): Promise<oauth.AuthorizationServer> {
  try {
    const options = {
      ...requestOptions(issuer.href, ctx),
      algorithm: "oidc",
    } as oauth.DiscoveryRequestOptions;
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    cache.set(issuer.href, { at: Date.now(), as });
    return as;
  } catch (error) {
    const advertised = mismatchedIssuer(error);
    if (advertised !== undefined) {
      throw new OidcError(
        ErrorCode.IDP_REJECTED,
        `The discovery document of ${issuer.href} names the issuer ${advertised}, not the configured "${issuer.href}".`,
        {
          cause: error,
          hint: "Set oidc.issuer to exactly the issuer the discovery document names (a trailing slash counts).",
          details: { advertisedIssuer: advertised },
        },
      );
    }
    throw toIdpError(error, `Reading the discovery document of ${issuer.href}`, ctx.signal);
  }
}

/** The issuer a discovery document names when it is not the configured one (cleaned, at most 300 chars, quoted). */
function mismatchedIssuer(error: unknown): string | undefined {
  if (!(error instanceof oauth.OperationProcessingError) || error.code !== oauth.JSON_ATTRIBUTE_COMPARISON)
    return undefined;
  const cause = error.cause as { attribute?: unknown; body?: { issuer?: unknown } } | undefined;
  if (cause?.attribute !== "issuer") return undefined;
  const value = typeof cause.body?.issuer === "string" ? cause.body.issuer : String(cause.body?.issuer);
  // Remote text on its way to a terminal.
  return JSON.stringify(plainText(value.slice(0, 300)) ?? "");
}

const ENDPOINTS = {
  authorization_endpoint: { field: "authorization", grant: "the authorization code grant" },
  device_authorization_endpoint: { field: "deviceAuthorization", grant: "the device authorization grant" },
  token_endpoint: { field: "token", grant: "the grant" },
} as const;

export function requireEndpoint(as: oauth.AuthorizationServer, name: keyof typeof ENDPOINTS): string {
  const value = as[name];
  if (typeof value !== "string") {
    const { field, grant } = ENDPOINTS[name];
    throw new OidcError(
      ErrorCode.DISCOVERY_FAILED,
      `The issuer ${as.issuer} does not publish a ${name.replace(/_/g, " ")}.`,
      {
        hint: `Enable ${grant} for the client, or set oidc.endpoints.${field} in the preset.`,
      },
    );
  }
  return value;
}

/** For tests: forget cached discovery documents. */
export function clearDiscoveryCache(): void {
  cache.clear();
  inflight.clear();
}
