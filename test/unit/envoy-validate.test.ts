import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { buildEnvoyDocs } from "../../src/gateway/render.js";
import {
  checkRawEnvoy,
  checkSecurityPolicy,
  crdToJsonSchema,
  type PolicyIssue,
  schemaIssues,
} from "../../src/gateway/validate-policy.js";
import { applyDefaults } from "../../src/presets/defaults.js";
import type { PresetDocument } from "../../src/presets/types.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CRD_PATH = resolve(ROOT, "../shared/reference/envoy/gateway.envoyproxy.io_securitypolicies.yaml");
const RAW_SCHEMA_PATH = resolve(ROOT, "schemas/envoy-jwt-authn.schema.json");

// biome-ignore lint/suspicious/noExplicitAny: tests poke into parsed YAML freely
type Doc = Record<string, any>;

/** The CRD's openAPIV3Schema, read now (never a copy): a missing file fails the suite. */
function loadCrdValidator(): ValidateFunction {
  if (!existsSync(CRD_PATH)) {
    throw new Error(
      `Envoy Gateway SecurityPolicy CRD not found at ${CRD_PATH}: the policy tests validate against it and cannot run without it.`,
    );
  }
  const crd = parse(readFileSync(CRD_PATH, "utf8")) as Doc;
  const version = (crd.spec?.versions as Doc[] | undefined)?.find((v) => v.name === "v1alpha1");
  const schema = version?.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`${CRD_PATH} has no v1alpha1 openAPIV3Schema`);
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat("byte", /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  return ajv.compile(crdToJsonSchema(schema) as object);
}

function loadRawValidator(): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  return ajv.compile(JSON.parse(readFileSync(RAW_SCHEMA_PATH, "utf8")) as object);
}

// Loaded on first use, so without the CRD every test fails with the message above (none is skipped).
let cached: { crd: ValidateFunction; raw: ValidateFunction } | undefined;
const validators = () => (cached ??= { crd: loadCrdValidator(), raw: loadRawValidator() });

function gatewayIssues(doc: unknown): PolicyIssue[] {
  const { crd } = validators();
  const schema = crd(doc) ? [] : schemaIssues(crd.errors);
  return [...schema, ...checkSecurityPolicy(doc)];
}

function rawIssues(doc: Doc): PolicyIssue[] {
  const filters = (doc.http_filters ?? []) as Doc[];
  const i = filters.findIndex((f) => f.name === "envoy.filters.http.jwt_authn");
  const config = filters[i]?.typed_config;
  const { raw } = validators();
  const schema =
    config === undefined || raw(config) ? [] : schemaIssues(raw.errors, `http_filters[${i}].typed_config`);
  return [...schema, ...checkRawEnvoy(doc)];
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
const clone = <T>(v: T): T => structuredClone(v);
const gatewayDocs = () =>
  buildEnvoyDocs(PRESET, { format: "gateway", jwksUri: JWKS }).map((d) => clone(d.value) as Doc);
const jwtPolicy = () => gatewayDocs()[0] as Doc;
const keyPolicy = () => gatewayDocs()[2] as Doc;
const rawDoc = () => clone(buildEnvoyDocs(PRESET, { format: "raw", jwksUri: JWKS })[0]?.value) as Doc;
const P = "spec.jwt.providers[0]";
const RP = "http_filters[1].typed_config.providers.haiilo";

describe("the reference files", () => {
  it("has the SecurityPolicy CRD at ../shared/reference (the tests read it, never a copy)", () => {
    expect(existsSync(CRD_PATH), `missing ${CRD_PATH}`).toBe(true);
  });

  it("accepts every rendered document as it is", () => {
    for (const doc of gatewayDocs().filter((d) => d.kind === "SecurityPolicy"))
      expect(gatewayIssues(doc)).toEqual([]);
    expect(rawIssues(rawDoc())).toEqual([]);
  });

  it("keeps the shipped example valid", () => {
    const docs = parseAllDocuments(readFileSync(resolve(ROOT, "envoy/jwt-authn.yaml"), "utf8")).map(
      (d) => d.toJS() as Doc,
    );
    const policies = docs.filter((d) => d.kind === "SecurityPolicy");
    expect(policies).toHaveLength(2);
    for (const doc of policies) expect(gatewayIssues(doc)).toEqual([]);
    const fragment = docs.find((d) => d.http_filters);
    expect(fragment).toBeDefined();
    expect(rawIssues(fragment as Doc)).toEqual([]);
  });
});

interface BrokenCase {
  name: string;
  /** The document broken: the JWT policy, the API key policy or the raw fragment. */
  base: "jwt" | "key" | "raw";
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
    message: /exactly one of targetRef/,
    mutate: (d) => (d.spec.targetRef = d.spec.targetRefs[0]),
  },
  {
    name: "no target at all",
    base: "jwt",
    path: "spec",
    message: /exactly one/,
    mutate: (d) => delete d.spec.targetRefs,
  },
  {
    name: "targetRefs and targetSelectors",
    base: "jwt",
    path: "spec",
    message: /exactly one/,
    mutate: (d) => (d.spec.targetSelectors = [{ kind: "HTTPRoute", matchLabels: { app: "ai" } }]),
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
    path: `${P}.claimToHeaders`,
    message: /recomputeRoute/,
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
    name: "http JWKS URI on a public host",
    base: "jwt",
    path: `${P}.remoteJWKS.uri`,
    message: /https/,
    mutate: (d) => (provider(d).remoteJWKS.uri = "http://example.okta.com/keys"),
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
    path: "spec.targetRefs[0].kind",
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
    path: "spec.mergeType",
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
    path: "http_filters[1].typed_config.rules[0].requires.provider_name",
    message: /unknown provider "okta"/,
    mutate: (d) => (d.http_filters[1].typed_config.rules[0].requires.provider_name = "okta"),
  },
  {
    name: "nested requires_any naming an unknown provider",
    base: "raw",
    path: "http_filters[1].typed_config.rules[0].requires.requires_any.requirements[1].provider_name",
    mutate: (d) => {
      d.http_filters[1].typed_config.rules[0].requires = {
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
    const doc = base === "raw" ? rawDoc() : base === "key" ? keyPolicy() : jwtPolicy();
    const check = (d: Doc) => (base === "raw" ? rawIssues(d) : gatewayIssues(d));
    // The issue comes from the mutation: the document as rendered has none at that path.
    expect(check(doc).filter((i) => i.path === path)).toEqual([]);
    mutate(doc);
    const issues = check(doc);
    const at = issues.filter((i) => i.path === path);
    expect(at, `issues: ${JSON.stringify(issues)}`).not.toHaveLength(0);
    if (message) expect(at.map((i) => i.message).join(" | ")).toMatch(message);
  });
});
