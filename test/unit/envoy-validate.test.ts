import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { schemaIssues, structuralValidator } from "../../src/gateway/crd-schema.js";
import { crdSource, httpRouteFilterSchema, securityPolicySchema } from "../../src/gateway/generated/crds.js";
import { buildEnvoyDocs } from "../../src/gateway/render.js";
import {
  checkHttpRouteFilter,
  checkRawEnvoy,
  checkSecurityPolicy,
  type PolicyIssue,
} from "../../src/gateway/validate-policy.js";
import { WELL_KNOWN_PATH, wellKnownDocument } from "../../src/opencode/well-known.js";
import { applyDefaults } from "../../src/presets/defaults.js";
import type { PresetDocument } from "../../src/presets/types.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The vendored CRDs (crds/README.md): upstream files, checked by SHA-256 against source.json. */
const CRD_DIR = resolve(ROOT, "crds/envoy-gateway");
const SOURCE = JSON.parse(readFileSync(resolve(CRD_DIR, "source.json"), "utf8")) as {
  tag: string;
  path: string;
  files: Record<string, string>;
};
const RAW_SCHEMA_PATH = resolve(ROOT, "schemas/envoy-jwt-authn.schema.json");
const ROUTE_SCHEMA_PATH = resolve(ROOT, "schemas/envoy-route.schema.json");

// biome-ignore lint/suspicious/noExplicitAny: tests poke into parsed YAML freely
type Doc = Record<string, any>;

function loadRawValidator(path = RAW_SCHEMA_PATH): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  return ajv.compile(JSON.parse(readFileSync(path, "utf8")) as object);
}

// Compiled on first use (ajv takes most of a second for the SecurityPolicy schema).
let cached:
  | { crd: ValidateFunction; filter: ValidateFunction; raw: ValidateFunction; route: ValidateFunction }
  | undefined;
const validators = () =>
  (cached ??= {
    crd: structuralValidator(securityPolicySchema),
    filter: structuralValidator(httpRouteFilterSchema),
    raw: loadRawValidator(),
    route: loadRawValidator(ROUTE_SCHEMA_PATH),
  });

/** Everything the API server would say about a SecurityPolicy: schema, CEL rules, plus our hardening. */
function gatewayIssues(doc: unknown): PolicyIssue[] {
  const { crd } = validators();
  const schema = crd(doc) ? [] : schemaIssues(crd.errors);
  return [...schema, ...checkSecurityPolicy(doc)];
}

function filterIssues(doc: unknown): PolicyIssue[] {
  const { filter } = validators();
  const schema = filter(doc) ? [] : schemaIssues(filter.errors);
  return [...schema, ...checkHttpRouteFilter(doc)];
}

function rawIssues(doc: Doc): PolicyIssue[] {
  const filters = (doc.http_filters ?? []) as Doc[];
  const i = filters.findIndex((f) => f.name === "envoy.filters.http.jwt_authn");
  const config = filters[i]?.typed_config;
  const { raw, route } = validators();
  const schema =
    config === undefined || raw(config) ? [] : schemaIssues(raw.errors, `http_filters[${i}].typed_config`);
  const routes = ((doc.routes ?? []) as Doc[]).flatMap((r, k) =>
    route(r) ? [] : schemaIssues(route.errors, `routes[${k}]`),
  );
  return [...schema, ...routes, ...checkRawEnvoy(doc)];
}

const PRESET = applyDefaults({
  ...(JSON.parse(readFileSync(resolve(ROOT, "presets/haiilo.json"), "utf8")) as PresetDocument),
  oidc: {
    issuer: "https://example.okta.com/oauth2/aus1",
    clientId: "0oa1",
    audience: "api://haiilo-ai",
    scopes: ["openid", "profile", "email", "offline_access", "haiiloai:inference"],
  },
});
const JWKS = "https://example.okta.com/oauth2/aus1/v1/keys";
// A plugin spec with a `%` in it: Envoy Gateway would read `%…%` in a direct response as an operator.
const WELL_KNOWN = {
  path: WELL_KNOWN_PATH,
  document: wellKnownDocument(PRESET, { version: "1.2.3", pluginSpec: "file:///opt/100%25/pkg" }),
};
const clone = <T>(v: T): T => structuredClone(v);
const gatewayDocs = () =>
  buildEnvoyDocs(PRESET, { format: "gateway", jwksUri: JWKS, wellKnown: WELL_KNOWN }).map(
    (d) => clone(d.value) as Doc,
  );
const jwtPolicy = () => gatewayDocs()[0] as Doc;
const keyPolicy = () => gatewayDocs()[2] as Doc;
const wellKnownFilter = () => gatewayDocs()[3] as Doc;
const rawDoc = () =>
  clone(buildEnvoyDocs(PRESET, { format: "raw", jwksUri: JWKS, wellKnown: WELL_KNOWN })[0]?.value) as Doc;
const P = "spec.jwt.providers[0]";
const RP = "http_filters[1].typed_config.providers.haiilo";

describe("the vendored CRDs", () => {
  it("are the upstream files recorded in source.json, unedited", () => {
    for (const [file, sha] of Object.entries(SOURCE.files)) {
      const text = readFileSync(resolve(CRD_DIR, file), "utf8");
      expect(createHash("sha256").update(text).digest("hex"), file).toBe(sha);
    }
    expect(crdSource).toEqual({ repository: "envoyproxy/gateway", tag: SOURCE.tag, path: SOURCE.path });
    expect(readFileSync(resolve(ROOT, "crds/README.md"), "utf8")).toContain(SOURCE.tag);
  });

  it("reach the code as their own schema, only the descriptions dropped", () => {
    const strip = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(strip)
        : typeof node === "object" && node !== null
          ? Object.fromEntries(
              Object.entries(node)
                .filter(([k, v]) => !(k === "description" && typeof v === "string"))
                .map(([k, v]) => [
                  k,
                  k === "properties"
                    ? Object.fromEntries(Object.entries(v as Doc).map(([p, c]) => [p, strip(c)]))
                    : strip(v),
                ]),
            )
          : node;
    const yaml = (file: string) =>
      (parse(readFileSync(resolve(CRD_DIR, file), "utf8")) as Doc).spec.versions.find(
        (v: Doc) => v.name === "v1alpha1",
      ).schema.openAPIV3Schema;
    expect(securityPolicySchema).toEqual(strip(yaml("gateway.envoyproxy.io_securitypolicies.yaml")));
    expect(httpRouteFilterSchema).toEqual(strip(yaml("gateway.envoyproxy.io_httproutefilters.yaml")));
  });

  it("accepts every rendered document as it is", () => {
    const docs = gatewayDocs();
    expect(docs.map((d) => d.kind)).toEqual([
      "SecurityPolicy",
      "HTTPRoute",
      "SecurityPolicy",
      "HTTPRouteFilter",
      "HTTPRoute",
    ]);
    for (const doc of docs.filter((d) => d.kind === "SecurityPolicy")) expect(gatewayIssues(doc)).toEqual([]);
    expect(filterIssues(wellKnownFilter())).toEqual([]);
    expect(rawIssues(rawDoc())).toEqual([]);
  });

  it("answers /.well-known/opencode outside the JWT requirement with the document itself", () => {
    const docs = gatewayDocs();
    const filter = wellKnownFilter();
    const route = docs[4] as Doc;
    const inline = filter.spec.directResponse.body.inline as string;
    expect(inline).not.toContain("%");
    expect(JSON.parse(inline)).toEqual(WELL_KNOWN.document);
    expect(filter.spec.directResponse).toMatchObject({ statusCode: 200, contentType: "application/json" });
    expect(route.spec.rules[0].matches).toEqual([
      { path: { type: "Exact", value: "/.well-known/opencode" } },
    ]);
    expect(route.spec.rules[0].filters[0].extensionRef).toEqual({
      group: "gateway.envoyproxy.io",
      kind: "HTTPRouteFilter",
      name: filter.metadata.name,
    });
    const policyTargets = docs
      .filter((d) => d.kind === "SecurityPolicy")
      .flatMap((d) => d.spec.targetRefs.map((t: Doc) => t.name));
    expect(policyTargets).not.toContain(route.metadata.name);

    const raw = rawDoc();
    expect(raw.routes[0].direct_response).toEqual({
      status: 200,
      body: { inline_string: JSON.stringify(WELL_KNOWN.document) },
    });
    expect(raw.http_filters[1].typed_config.rules[0]).toEqual({ match: { path: "/.well-known/opencode" } });
  });

  it("keeps the shipped example valid", () => {
    const docs = parseAllDocuments(readFileSync(resolve(ROOT, "envoy/jwt-authn.yaml"), "utf8")).map(
      (d) => d.toJS() as Doc,
    );
    const policies = docs.filter((d) => d.kind === "SecurityPolicy");
    expect(policies).toHaveLength(2);
    for (const doc of policies) expect(gatewayIssues(doc)).toEqual([]);
    const filters = docs.filter((d) => d.kind === "HTTPRouteFilter");
    expect(filters.map((d) => d.metadata.name)).toEqual(["haiilo-well-known"]);
    for (const doc of filters) expect(filterIssues(doc)).toEqual([]);
    const fragment = docs.find((d) => d.http_filters);
    expect(fragment).toBeDefined();
    expect(rawIssues(fragment as Doc)).toEqual([]);
  });
});

interface BrokenCase {
  name: string;
  /** The document broken: the JWT policy, the API key policy, the well-known filter or the raw fragment. */
  base: "jwt" | "key" | "filter" | "raw";
  /** Path of the issue that must be reported. */
  path: string;
  message?: RegExp;
  mutate: (d: Doc) => void;
}

const provider = (d: Doc): Doc => d.spec.jwt.providers[0];
const rawProvider = (d: Doc): Doc => d.http_filters[1].typed_config.providers.haiilo;

const BROKEN: BrokenCase[] = [
  { name: "missing issuer", base: "jwt", path: `${P}.issuer`, mutate: (d) => delete provider(d).issuer },
  {
    name: "both targetRef and targetRefs",
    base: "jwt",
    path: "spec",
    message: /either targetRef or targetRefs must be used/,
    mutate: (d) => (d.spec.targetRef = d.spec.targetRefs[0]),
  },
  {
    name: "no target at all",
    base: "jwt",
    path: "spec",
    message: /either targetRef or targetRefs must be used/,
    mutate: (d) => delete d.spec.targetRefs,
  },
  {
    name: "targetSelectors of another API group",
    base: "jwt",
    path: "spec.targetSelectors[0]",
    message: /group must be gateway.networking.k8s.io/,
    mutate: (d) =>
      (d.spec.targetSelectors = [{ group: "apps", kind: "HTTPRoute", matchLabels: { app: "ai" } }]),
  },
  {
    name: "both remoteJWKS and localJWKS",
    base: "jwt",
    path: P,
    message: /cannot both/,
    mutate: (d) => (provider(d).localJWKS = { type: "Inline", inline: "{}" }),
  },
  {
    name: "neither remoteJWKS nor localJWKS",
    base: "jwt",
    path: P,
    message: /either remoteJWKS or localJWKS/,
    mutate: (d) => delete provider(d).remoteJWKS,
  },
  {
    name: "recomputeRoute without claimToHeaders",
    base: "jwt",
    path: P,
    message: /claimToHeaders must be specified if recomputeRoute is enabled/,
    mutate: (d) => {
      provider(d).recomputeRoute = true;
      delete provider(d).claimToHeaders;
    },
  },
  {
    name: "bad cacheDuration",
    base: "jwt",
    path: `${P}.remoteJWKS.cacheDuration`,
    message: /pattern/,
    mutate: (d) => (provider(d).remoteJWKS.cacheDuration = "5 minutes"),
  },
  {
    name: "JWKS URI that is no http(s) URL",
    base: "jwt",
    path: `${P}.remoteJWKS.uri`,
    message: /https/,
    mutate: (d) => (provider(d).remoteJWKS.uri = "ftp://example.okta.com/keys"),
  },
  {
    name: "9 audiences",
    base: "jwt",
    path: `${P}.audiences`,
    message: /more than 8/,
    mutate: (d) => (provider(d).audiences = Array.from({ length: 9 }, (_, i) => `api://a${i}`)),
  },
  {
    name: "misspelt policy field",
    base: "jwt",
    path: `${P}.claimToHeader`,
    message: /unknown field/,
    mutate: (d) => (provider(d).claimToHeader = []),
  },
  {
    name: "raw field names in a SecurityPolicy (header_name)",
    base: "jwt",
    path: `${P}.claimToHeaders[0].header`,
    message: /required/,
    mutate: (d) => (provider(d).claimToHeaders[0] = { header_name: "x-user-id", claim: "sub" }),
  },
  {
    name: "target kind Service",
    base: "jwt",
    path: "spec",
    message: /can only have a targetRefs\[\*\]\.kind of Gateway\/ListenerSet\/HTTPRoute/,
    mutate: (d) => (d.spec.targetRefs[0].kind = "Service"),
  },
  {
    name: "optional and failOpen",
    base: "jwt",
    path: "spec.jwt",
    message: /failOpen/,
    mutate: (d) => Object.assign(d.spec.jwt, { optional: true, failOpen: true }),
  },
  {
    name: "two providers with one name",
    base: "jwt",
    path: "spec.jwt.providers[1].name",
    mutate: (d) => d.spec.jwt.providers.push(clone(provider(d))),
  },
  {
    name: "localJWKS ValueRef with an inline value",
    base: "jwt",
    path: `${P}.localJWKS`,
    mutate: (d) => {
      delete provider(d).remoteJWKS;
      provider(d).localJWKS = { type: "ValueRef", inline: "{}" };
    },
  },
  {
    name: "mergeType on a Gateway target",
    base: "jwt",
    path: "spec",
    message: /mergeType can only be used with xRoute targets/,
    mutate: (d) => {
      d.spec.mergeType = "StrategicMerge";
      d.spec.targetRefs[0].kind = "Gateway";
    },
  },
  {
    name: "API key taken from a header and a param",
    base: "key",
    path: "spec.apiKeyAuth.extractFrom[0]",
    mutate: (d) => (d.spec.apiKeyAuth.extractFrom[0].params = ["key"]),
  },
  {
    name: "API keys without credentialRefs",
    base: "key",
    path: "spec.apiKeyAuth.credentialRefs",
    message: /required/,
    mutate: (d) => delete d.spec.apiKeyAuth.credentialRefs,
  },
  {
    name: "well-known body of type ValueRef without a valueRef",
    base: "filter",
    path: "spec.directResponse.body",
    message: /valueRef must be set for type ValueRef/,
    mutate: (d) => (d.spec.directResponse.body.type = "ValueRef"),
  },
  {
    name: "well-known response removing a header",
    base: "filter",
    path: "spec.directResponse.header",
    message: /header.remove is not supported for DirectResponse/,
    mutate: (d) => (d.spec.directResponse.header = { remove: ["server"] }),
  },
  {
    name: "well-known status as a string",
    base: "filter",
    path: "spec.directResponse.statusCode",
    message: /integer/,
    mutate: (d) => (d.spec.directResponse.statusCode = "200"),
  },
  {
    name: "raw well-known route behind the JWT rule",
    base: "raw",
    path: "http_filters[1].typed_config.rules[0]",
    message: /requires a token for \/\.well-known\/opencode/,
    mutate: (d) => d.http_filters[1].typed_config.rules.shift(),
  },
  {
    name: "raw well-known route with a status out of range",
    base: "raw",
    path: "routes[0].direct_response.status",
    mutate: (d) => (d.routes[0].direct_response.status = 700),
  },
  {
    name: "unknown raw field",
    base: "raw",
    path: `${RP}.issuer_url`,
    message: /unknown field/,
    mutate: (d) => (rawProvider(d).issuer_url = "https://x"),
  },
  {
    name: "claim_to_headers with header instead of header_name",
    base: "raw",
    path: `${RP}.claim_to_headers[0].header`,
    message: /unknown field/,
    mutate: (d) => (rawProvider(d).claim_to_headers[0] = { header: "x-user-id", claim_name: "sub" }),
  },
  {
    name: "rules requiring an unknown provider",
    base: "raw",
    path: "http_filters[1].typed_config.rules[1].requires.provider_name",
    message: /unknown provider "okta"/,
    mutate: (d) => (d.http_filters[1].typed_config.rules[1].requires.provider_name = "okta"),
  },
  {
    name: "nested requires_any naming an unknown provider",
    base: "raw",
    path: "http_filters[1].typed_config.rules[1].requires.requires_any.requirements[1].provider_name",
    mutate: (d) => {
      d.http_filters[1].typed_config.rules[1].requires = {
        requires_any: { requirements: [{ provider_name: "haiilo" }, { provider_name: "other" }] },
      };
    },
  },
  {
    name: "raw http JWKS on a public host",
    base: "raw",
    path: `${RP}.remote_jwks.http_uri.uri`,
    message: /loopback/,
    mutate: (d) => (rawProvider(d).remote_jwks.http_uri.uri = "http://example.okta.com/keys"),
  },
  {
    name: "JWKS cluster that does not exist",
    base: "raw",
    path: `${RP}.remote_jwks.http_uri.cluster`,
    mutate: (d) => (rawProvider(d).remote_jwks.http_uri.cluster = "okta"),
  },
  {
    name: "raw timeout without unit",
    base: "raw",
    path: `${RP}.remote_jwks.http_uri.timeout`,
    mutate: (d) => (rawProvider(d).remote_jwks.http_uri.timeout = "5"),
  },
  {
    name: "https JWKS without TLS",
    base: "raw",
    path: "clusters[0].transport_socket",
    mutate: (d) => delete d.clusters[0].transport_socket,
  },
  {
    name: "TLS with the wrong SNI",
    base: "raw",
    path: "clusters[0].transport_socket.typed_config.sni",
    mutate: (d) => (d.clusters[0].transport_socket.typed_config.sni = "okta.com"),
  },
  {
    name: "raw provider with remote_jwks and local_jwks",
    base: "raw",
    path: RP,
    message: /oneOf/,
    mutate: (d) => (rawProvider(d).local_jwks = { inline_string: "{}" }),
  },
  {
    name: "raw provider without issuer",
    base: "raw",
    path: `${RP}.issuer`,
    mutate: (d) => delete rawProvider(d).issuer,
  },
  {
    name: "router not last",
    base: "raw",
    path: "http_filters[2]",
    message: /router/,
    mutate: (d) => d.http_filters.push(d.http_filters.shift()),
  },
];

describe("broken configurations are caught", () => {
  it.each(BROKEN)("$name → $path", ({ base, mutate, path, message }) => {
    const doc =
      base === "raw"
        ? rawDoc()
        : base === "key"
          ? keyPolicy()
          : base === "filter"
            ? wellKnownFilter()
            : jwtPolicy();
    const check = (d: Doc) =>
      base === "raw" ? rawIssues(d) : base === "filter" ? filterIssues(d) : gatewayIssues(d);
    // The issue comes from the mutation: the document as rendered has none at that path.
    expect(check(doc).filter((i) => i.path === path)).toEqual([]);
    mutate(doc);
    const issues = check(doc);
    const at = issues.filter((i) => i.path === path);
    expect(at, `issues: ${JSON.stringify(issues)}`).not.toHaveLength(0);
    if (message) expect(at.map((i) => i.message).join(" | ")).toMatch(message);
  });
});
