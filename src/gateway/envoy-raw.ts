/**
 * Plain Envoy configuration for a preset: the `http_filters` of the HTTP connection manager (identity
 * header scrub, `envoy.filters.http.jwt_authn`, router) and the static cluster that reaches the JWKS host.
 */
import { isLoopbackHost } from "../core/loopback.js";
import {
  type EnvoyDoc,
  type EnvoyInputs,
  JWKS_CACHE_DURATION,
  type Note,
  USER_EMAIL_HEADER,
  USER_ID_HEADER,
  type WellKnownRoute,
} from "./envoy-gateway.js";

export const JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn";
export const JWT_AUTHN_TYPE =
  "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
const HEADER_MUTATION_TYPE =
  "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation";
const ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const TLS_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

/** Scheme, host (case kept) and port of a JWKS URI. */
export function jwksEndpoint(uri: string): { tls: boolean; host: string; port: number } {
  const match = /^(https?):\/\/(\[[^\]]+\]|[^/?#:]+)(?::(\d+))?/.exec(uri);
  const tls = match?.[1] !== "http";
  const host = (match?.[2] ?? "").replace(/^\[|\]$/g, "");
  return { tls, host, port: match?.[3] ? Number(match[3]) : tls ? 443 : 80 };
}

function cluster(name: string, uri: string): Record<string, unknown> {
  const { tls, host, port } = jwksEndpoint(uri);
  const ipLiteral = /^[\d.]+$|:/.test(host);
  const address = host.toLowerCase() === "localhost" ? "127.0.0.1" : host;
  const value: Record<string, unknown> = {
    name,
    type: ipLiteral || address !== host ? "STATIC" : "LOGICAL_DNS",
    connect_timeout: "5s",
    load_assignment: {
      cluster_name: name,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] },
      ],
    },
  };
  if (tls) {
    value.transport_socket = {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": TLS_TYPE,
        sni: host,
        common_tls_context: {
          validation_context: {
            trusted_ca: { filename: "/etc/ssl/certs/ca-certificates.crt" },
            match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: host } }],
          },
        },
      },
    };
  }
  return value;
}

/** Envoy's default `max_direct_response_body_size_bytes` of a route configuration. */
export const DIRECT_RESPONSE_LIMIT = 4096;

/** A route that answers the document itself (`direct_response`), to go before the gateway's routes. */
function wellKnownRoute(wk: WellKnownRoute): Record<string, unknown> {
  return {
    name: "opencode-well-known",
    match: { path: wk.path },
    direct_response: { status: 200, body: { inline_string: wk.body } },
    response_headers_to_add: [
      {
        header: { key: "content-type", value: "application/json" },
        append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
      },
    ],
  };
}

/** The raw Envoy fragment (one YAML document with `http_filters`, `clusters` and maybe `routes`). */
export function rawDoc(input: EnvoyInputs): EnvoyDoc {
  const { preset, jwt } = input;
  if (!jwt) throw new Error("rawDoc needs the JWT settings");
  const clusterName = `${preset.id}-jwks`;
  const jwksLoopbackHttp = !jwksEndpoint(jwt.jwksUri).tls && isLoopbackHost(jwksEndpoint(jwt.jwksUri).host);
  const provider = {
    issuer: jwt.issuer,
    audiences: [jwt.audience],
    remote_jwks: {
      http_uri: { uri: jwt.jwksUri, cluster: clusterName, timeout: "5s" },
      cache_duration: JWKS_CACHE_DURATION,
      async_fetch: { fast_listener: false },
    },
    forward: true,
    from_headers: [{ name: "Authorization", value_prefix: "Bearer " }],
    claim_to_headers: [
      { header_name: USER_ID_HEADER, claim_name: "sub" },
      { header_name: USER_EMAIL_HEADER, claim_name: "email" },
    ],
    clock_skew_seconds: 60,
    payload_in_metadata: "jwt_payload",
  };
  const value = {
    http_filters: [
      {
        name: "envoy.filters.http.header_mutation",
        typed_config: {
          "@type": HEADER_MUTATION_TYPE,
          mutations: { request_mutations: [{ remove: USER_ID_HEADER }, { remove: USER_EMAIL_HEADER }] },
        },
      },
      {
        name: JWT_AUTHN_FILTER,
        typed_config: {
          "@type": JWT_AUTHN_TYPE,
          providers: { [preset.id]: provider },
          rules: [
            ...(input.wellKnown ? [{ match: { path: input.wellKnown.path } }] : []),
            { match: { prefix: "/" }, requires: { provider_name: preset.id } },
          ],
        },
      },
      { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_TYPE } },
    ],
    clusters: [cluster(clusterName, jwt.jwksUri)],
    ...(input.wellKnown ? { routes: [wellKnownRoute(input.wellKnown)] } : {}),
  };
  const p = ["http_filters", 1, "typed_config", "providers", preset.id];
  const notes: Note[] = [
    {
      path: ["http_filters"],
      comment:
        "Paste into the http_connection_manager's http_filters, in this order; the router must stay last.",
    },
    {
      path: ["http_filters", 0],
      comment: `Drop identity headers a client may have sent: jwt_authn appends to them instead of replacing them.`,
    },
    { path: [...p, "issuer"], comment: "Must equal the `iss` claim (Okta custom authorization server URL)." },
    { path: [...p, "audiences"], comment: "The authorization server's audience (`aud` claim)." },
    {
      path: [...p, "remote_jwks"],
      comment: `JWKS URI (discovery jwks_uri; Okta: {issuer}/v1/keys), fetched through the cluster "${clusterName}" below;\nkeys are cached for cache_duration, and async_fetch loads them when the listener starts.`,
    },
    { path: [...p, "forward"], comment: "Keep the token on the request so the upstream can see it too." },
    { path: [...p, "claim_to_headers"], comment: "Verified claims handed to the upstream as headers." },
    {
      path: [...p, "payload_in_metadata"],
      comment: "The verified payload also goes to dynamic metadata (for RBAC or access logs).",
    },
    {
      path: ["http_filters", 1, "typed_config", "rules"],
      comment: [
        input.wellKnown
          ? `First match wins. ${input.wellKnown.path} needs no token (a rule without requires), every other path\na valid token from this provider.`
          : "First match wins. Every path needs a valid token from this provider.",
        ...(input.apiKey
          ? [
              `API keys ("${preset.auth.apiKey.header}"): jwt_authn cannot check them. Add, before this rule,`,
              `  - match: { prefix: "/", headers: [{ name: ${preset.auth.apiKey.header}, present_match: true }] }`,
              "only together with a filter that verifies the key for exactly those requests (ext_authz, or",
              "envoy.filters.http.api_key_auth): without one, any request carrying the header would pass.",
            ]
          : []),
      ].join("\n"),
    },
    {
      path: ["clusters"],
      comment: jwksLoopbackHttp
        ? "Add to static_resources.clusters. Plain http: the JWKS host is loopback (development only)."
        : "Add to static_resources.clusters. TLS with SNI; the certificate must chain to the CA bundle and name the host.",
    },
  ];
  if (input.wellKnown) {
    const size = Buffer.byteLength(input.wellKnown.body);
    notes.push({
      path: ["routes"],
      comment: [
        `Put first in route_config.virtual_hosts[].routes: OpenCode's onboarding document, answered by Envoy.`,
        size > DIRECT_RESPONSE_LIMIT
          ? `The body is ${size} bytes: set route_config.max_direct_response_body_size_bytes to at least ${size}\n(Envoy's default is ${DIRECT_RESPONSE_LIMIT}).`
          : `The body is ${size} bytes (within Envoy's default max_direct_response_body_size_bytes of ${DIRECT_RESPONSE_LIMIT}).`,
      ].join("\n"),
    });
  }
  if (!jwksLoopbackHttp) {
    notes.push({
      path: ["clusters", 0, "transport_socket"],
      comment: "trusted_ca: the system CA bundle of the Envoy image (Alpine: /etc/ssl/cert.pem).",
    });
  }
  return {
    header: [
      "Plain Envoy (no Envoy Gateway): jwt_authn verifies the Okta access token on every request.",
      "Field names follow Envoy's proto (header_name/claim_name), not Envoy Gateway's (header/claim).",
    ].join("\n"),
    value,
    notes,
  };
}
