/**
 * Envoy Gateway (gateway.envoyproxy.io/v1alpha1) resources for a preset: a JWT `SecurityPolicy` on the
 * route the gateway serves, and for the API key path a second HTTPRoute (chosen by the presence of the
 * key header) with its own `apiKeyAuth` policy, because one policy with both `jwt` and `apiKeyAuth`
 * requires both credentials on every request.
 */
import type { Preset } from "../presets/types.js";

/** A comment placed above the key (or list item) at `path`. */
export interface Note {
  path: Array<string | number>;
  comment: string;
}

/** One YAML document to emit: its value, a comment above it and comments on some of its nodes. */
export interface EnvoyDoc {
  header: string;
  value: Record<string, unknown>;
  notes: Note[];
}

/** Everything the renderers need, already checked. */
export interface EnvoyInputs {
  preset: Preset;
  /** `null` when the preset offers no device login (API keys only). */
  jwt: { issuer: string; audience: string; jwksUri: string } | null;
  apiKey: boolean;
  /** Name of the HTTPRoute that serves the gateway. */
  target: string;
  namespace?: string;
  /** The `/.well-known/opencode` document (JSON text) to answer from the gateway, if any. */
  wellKnown?: WellKnownRoute;
}

/** A JSON document the gateway answers itself at `path`, without authentication. */
export interface WellKnownRoute {
  path: string;
  /** The JSON text. Envoy Gateway reads a direct response body as a format string: see `formatSafeJson`. */
  body: string;
}

/**
 * JSON text with every `%` written as `\u0025`: the same document to a JSON parser, but no Envoy
 * command operator (`%REQ(...)%`) in it, since Envoy Gateway's `directResponse` body is a format
 * string. `%` can only stand inside JSON strings, where the escape is valid.
 */
export function formatSafeJson(json: string): string {
  return json.replace(/%/g, "\\u0025");
}

export const USER_ID_HEADER = "x-user-id";
export const USER_EMAIL_HEADER = "x-user-email";
export const CLIENT_ID_HEADER = "x-client-id";
export const JWKS_CACHE_DURATION = "300s";
const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

export function defaultTarget(preset: Preset): string {
  return `${preset.id}-ai`;
}

/** Host and path prefix of the gateway base URL (case kept, so placeholders stay readable). */
export function baseUrlParts(baseURL: string): { host: string; path: string } {
  const match = /^https?:\/\/([^/?#:]+)(?::\d+)?(\/[^?#]*)?/.exec(baseURL);
  const path = (match?.[2] ?? "/").replace(/\/+$/, "") || "/";
  return { host: match?.[1] ?? "YOUR_GATEWAY_HOST", path };
}

/** Headers the gateway sets for the upstream; a client must not be able to send them. */
export const IDENTITY_HEADERS = [USER_ID_HEADER, USER_EMAIL_HEADER, CLIENT_ID_HEADER];

function namespaceNote(input: EnvoyInputs): Note[] {
  if (input.namespace) return [];
  return [
    {
      path: ["metadata"],
      comment: "Add `namespace:` (the HTTPRoute's namespace) or render with --namespace.",
    },
  ];
}

function metadata(name: string, namespace: string | undefined): Record<string, string> {
  return namespace ? { name, namespace } : { name };
}

function routeRef(name: string): Record<string, string> {
  return { group: GATEWAY_API_GROUP, kind: "HTTPRoute", name };
}

function jwtPolicy(input: EnvoyInputs, jwt: NonNullable<EnvoyInputs["jwt"]>): EnvoyDoc {
  const { preset, target } = input;
  const value = {
    apiVersion: "gateway.envoyproxy.io/v1alpha1",
    kind: "SecurityPolicy",
    metadata: metadata(`${preset.id}-jwt`, input.namespace),
    spec: {
      targetRefs: [routeRef(target)],
      jwt: {
        providers: [
          {
            name: preset.id,
            issuer: jwt.issuer,
            audiences: [jwt.audience],
            remoteJWKS: { uri: jwt.jwksUri, cacheDuration: JWKS_CACHE_DURATION },
            extractFrom: { headers: [{ name: "Authorization", valuePrefix: "Bearer " }] },
            claimToHeaders: [
              { header: USER_ID_HEADER, claim: "sub" },
              { header: USER_EMAIL_HEADER, claim: "email" },
            ],
          },
        ],
      },
    },
  };
  const provider = ["spec", "jwt", "providers", 0];
  return {
    header: [
      `Device login (Okta access tokens): requests carrying "Authorization: Bearer <JWT>".`,
      "Envoy checks the signature against the issuer's JWKS, then iss, aud, exp and nbf.",
    ].join("\n"),
    value,
    notes: [
      ...namespaceNote(input),
      {
        path: ["spec", "targetRefs"],
        comment: `The HTTPRoute that serves ${preset.provider.baseURL} (change with --target).`,
      },
      {
        path: [...provider, "issuer"],
        comment: "Must equal the `iss` claim: the issuer URL of the Okta custom authorization server.",
      },
      {
        path: [...provider, "audiences"],
        comment: "The authorization server's audience (`aud` claim); at most 8 entries.",
      },
      {
        path: [...provider, "remoteJWKS"],
        comment: `Public signing keys of the issuer (its discovery document's jwks_uri; Okta: {issuer}/v1/keys). Use https;\nplain http only to an in-cluster issuer (*.svc.cluster.local).\ncacheDuration: how long keys are kept before they are fetched again (Envoy Gateway's default is 300s).`,
      },
      {
        path: [...provider, "extractFrom"],
        comment: `Only the Authorization header; the space after "Bearer" is part of the prefix.`,
      },
      {
        path: [...provider, "claimToHeaders"],
        comment: [
          "Verified claims copied into request headers for the upstream. Envoy appends to a header the",
          "client already sent, so strip the identity headers before routing and authentication with a",
          "ClientTrafficPolicy on the Gateway:",
          `  spec.headers.earlyRequestHeaders.remove: [${IDENTITY_HEADERS.join(", ")}]`,
        ].join("\n"),
      },
    ],
  };
}

function apiKeyRoute(input: EnvoyInputs): EnvoyDoc {
  const { preset, target } = input;
  const { host, path } = baseUrlParts(preset.provider.baseURL);
  const header = preset.auth.apiKey.header;
  const value = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: metadata(`${target}-api-key`, input.namespace),
    spec: {
      parentRefs: [{ name: "YOUR_GATEWAY" }],
      hostnames: [host],
      rules: [
        {
          matches: [
            {
              path: { type: "PathPrefix", value: path },
              headers: [{ type: "RegularExpression", name: header, value: ".+" }],
            },
          ],
          filters: [
            {
              type: "RequestHeaderModifier",
              requestHeaderModifier: { remove: [USER_ID_HEADER, USER_EMAIL_HEADER] },
            },
          ],
          backendRefs: [{ name: "YOUR_BACKEND_SERVICE", port: 4000 }],
        },
      ],
    },
  };
  return {
    header: [
      `API keys ("${header}: sk-..."): a copy of the HTTPRoute "${target}" that only matches requests carrying the header.`,
      "Why a second route: when one SecurityPolicy has both `jwt` and `apiKeyAuth`, Envoy runs both filters",
      "and a request needs BOTH credentials (envoyproxy/gateway#8491); `jwt.optional` would only let key",
      "requests skip the JWT check, and apiKeyAuth has no optional switch. Gateway API picks the route with",
      "more header matches when path matches tie, so requests with the header land here, all others on",
      `"${target}" and its JWT policy.`,
    ].join("\n"),
    value,
    notes: [
      {
        path: ["spec", "parentRefs"],
        comment: `Copy parentRefs, hostnames and backendRefs from the HTTPRoute "${target}".`,
      },
      {
        path: ["spec", "rules", 0, "matches"],
        comment: [
          `path: the same match as on "${target}" (a longer prefix there would win over the header match).`,
          "headers: any non-empty value, so a wrong key is rejected here (401) instead of reaching the JWT route.",
        ].join("\n"),
      },
      {
        path: ["spec", "rules", 0, "filters"],
        comment: `No JWT on this route: drop the JWT identity headers a client could set itself (${CLIENT_ID_HEADER} is set\nby apiKeyAuth before this filter runs, so it cannot be removed here; see the ClientTrafficPolicy above).`,
      },
    ],
  };
}

function apiKeyPolicy(input: EnvoyInputs, route: string): EnvoyDoc {
  const { preset } = input;
  const secret = `${preset.id}-api-keys`;
  const value = {
    apiVersion: "gateway.envoyproxy.io/v1alpha1",
    kind: "SecurityPolicy",
    metadata: metadata(`${preset.id}-api-key`, input.namespace),
    spec: {
      targetRefs: [routeRef(route)],
      apiKeyAuth: {
        credentialRefs: [{ group: "", kind: "Secret", name: secret }],
        extractFrom: [{ headers: [preset.auth.apiKey.header] }],
        forwardClientIDHeader: CLIENT_ID_HEADER,
        sanitize: true,
      },
    },
  };
  const auth = ["spec", "apiKeyAuth"];
  return {
    header: [
      `API key check for the route "${route}". The keys live in an Opaque Secret: each data key is a client id,`,
      "its value the API key. Create it yourself (keys never belong in this file):",
      `  kubectl create secret generic ${secret} --from-literal=team-a=sk-... --from-literal=ci=sk-...`,
    ].join("\n"),
    value,
    notes: [
      { path: [...auth, "credentialRefs"], comment: "One or more Opaque Secrets in the policy's namespace." },
      {
        path: [...auth, "extractFrom"],
        comment: "The header the plugin sends the key in (preset auth.apiKey.header).",
      },
      {
        path: [...auth, "forwardClientIDHeader"],
        comment: "The upstream learns which client id (Secret key) matched.",
      },
      {
        path: [...auth, "sanitize"],
        comment: "Remove the key before forwarding; set false if the upstream checks it too.",
      },
    ],
  };
}

/** The filter that answers `/.well-known/opencode` from Envoy itself (an Envoy Gateway extension). */
function wellKnownFilter(input: EnvoyInputs, wk: WellKnownRoute): EnvoyDoc {
  const value = {
    apiVersion: "gateway.envoyproxy.io/v1alpha1",
    kind: "HTTPRouteFilter",
    metadata: metadata(`${input.preset.id}-well-known`, input.namespace),
    spec: {
      directResponse: {
        statusCode: 200,
        contentType: "application/json",
        body: { type: "Inline", inline: formatSafeJson(wk.body) },
      },
    },
  };
  return {
    header: [
      `OpenCode's onboarding document (${wk.path}): \`opencode auth login <gateway>\` reads it, installs the`,
      "plugin with this preset and runs the device login. Envoy answers it directly; regenerate it with",
      "`opencode-oidc well-known` after a change. `%` is written as \\u0025 (the body is an Envoy format string).",
    ].join("\n"),
    value,
    notes: [],
  };
}

/** The route that uses the filter: an exact path match wins over the gateway route's prefix. */
function wellKnownRouteDoc(input: EnvoyInputs, wk: WellKnownRoute, filter: string): EnvoyDoc {
  const { target, preset } = input;
  const { host } = baseUrlParts(preset.provider.baseURL);
  const value = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: metadata(`${target}-well-known`, input.namespace),
    spec: {
      parentRefs: [{ name: "YOUR_GATEWAY" }],
      hostnames: [host],
      rules: [
        {
          matches: [{ path: { type: "Exact", value: wk.path } }],
          filters: [
            {
              type: "ExtensionRef",
              extensionRef: { group: "gateway.envoyproxy.io", kind: "HTTPRouteFilter", name: filter },
            },
          ],
        },
      ],
    },
  };
  return {
    header: [
      `${wk.path} without a token: no SecurityPolicy targets this route (the JWT policy targets "${target}").`,
      "If your JWT policy targets the Gateway instead of the route, this path needs it too: attach the",
      "policy to routes, or this document cannot be fetched before login.",
    ].join("\n"),
    value,
    notes: [
      {
        path: ["spec", "parentRefs"],
        comment: `Copy parentRefs and hostnames from the HTTPRoute "${target}".`,
      },
    ],
  };
}

/** The Envoy Gateway documents for a preset, in the order they should be applied. */
export function gatewayDocs(input: EnvoyInputs): EnvoyDoc[] {
  const docs: EnvoyDoc[] = [];
  if (input.jwt) docs.push(jwtPolicy(input, input.jwt));
  if (input.apiKey && input.jwt) {
    const route = apiKeyRoute(input);
    docs.push(route, apiKeyPolicy(input, (route.value.metadata as { name: string }).name));
  } else if (input.apiKey) {
    docs.push(apiKeyPolicy(input, input.target));
  }
  if (input.wellKnown) {
    const filter = wellKnownFilter(input, input.wellKnown);
    docs.push(
      filter,
      wellKnownRouteDoc(input, input.wellKnown, (filter.value.metadata as { name: string }).name),
    );
  }
  return docs;
}
