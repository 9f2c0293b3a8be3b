/**
 * Which JWKS URIs each Envoy flavour may fetch. Envoy Gateway's `remoteJWKS.uri` takes http as well
 * as https (envoyproxy/gateway#2328): an in-cluster issuer such as
 * `http://keycloak.auth.svc.cluster.local/realms/x/protocol/openid-connect/certs` is a documented
 * use. Plain http anywhere else lets whoever sits on the path swap the signing keys, so it passes
 * with a warning. The raw Envoy fragment keeps http to loopback hosts (development only).
 */
import { ErrorCode, OidcError } from "../core/errors.js";
import { assertSecureUrl, isLoopbackHost } from "../core/loopback.js";

/** A Kubernetes service name: `name`, `name.ns.svc`, `name.ns.svc.cluster.local` (or `*.cluster.local`). */
export function isClusterLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(host)) return true;
  return /\.svc$/.test(host) || /\.cluster\.local$/.test(host);
}

/**
 * Checks the JWKS URI for the output format. Returns a warning (for stderr) when Envoy Gateway would
 * fetch it over plain http from a host that is neither loopback nor cluster-local; throws
 * INSECURE_URL when it is no http(s) URL at all, or carries credentials.
 */
export function checkJwksUri(uri: string, format: "gateway" | "raw"): { url: URL; warning?: string } {
  if (format === "raw")
    return { url: assertSecureUrl(uri, "The JWKS URI", "--jwks-uri (or oidc.endpoints.jwks)") };
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new OidcError(ErrorCode.INSECURE_URL, `The JWKS URI ${uri} is not a valid URL.`, {
      hint: "Pass --jwks-uri https://… (the issuer's discovery document names it as jwks_uri).",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new OidcError(
      ErrorCode.INSECURE_URL,
      `The JWKS URI ${uri} uses ${url.protocol}; Envoy Gateway fetches http(s) only.`,
      {
        hint: "Pass --jwks-uri https://… (the issuer's discovery document names it as jwks_uri).",
      },
    );
  }
  if (url.username || url.password) {
    throw new OidcError(ErrorCode.INSECURE_URL, "The JWKS URI must not contain credentials.", {
      hint: "Remove the user:password@ part; the JWKS is public.",
    });
  }
  if (url.protocol === "https:" || isLoopbackHost(url.hostname) || isClusterLocalHost(url.hostname)) {
    return { url };
  }
  return {
    url,
    warning: [
      `Warning: the JWKS URI ${url.href} uses plain http to ${url.hostname}, which is neither loopback nor a cluster-local`,
      "service name: anyone on the path can replace the signing keys and have the gateway accept tokens they sign.",
      "Use https, or the issuer's in-cluster service address (*.svc, *.svc.cluster.local).",
    ].join("\n"),
  };
}
