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
  return docs;
}
