/**
 * Checks a JSON Schema cannot express. For an Envoy Gateway SecurityPolicy: the CEL rules
 * (`x-kubernetes-validations`) of the CRD for the fields we emit, plus a few of our own (issuer set,
 * https JWKS, unique provider names). For raw Envoy: cross references (rules → providers, http_uri →
 * clusters, TLS to the JWKS host) the proto cannot state. Also helpers to run the CRD's
 * `openAPIV3Schema` through a JSON Schema validator such as ajv.
 */
import { isLoopbackHost } from "../core/loopback.js";

export interface PolicyIssue {
  /** Dotted path into the document, with list indexes: `spec.jwt.providers[0].remoteJWKS`. */
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const has = (o: Obj, key: string): boolean => o[key] !== undefined && o[key] !== null;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const TARGET_KINDS = ["Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute", "TCPRoute"];
const ROUTE_KINDS = ["HTTPRoute", "GRPCRoute", "TCPRoute"];
const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

function checkTargets(spec: Obj, out: PolicyIssue[]): void {
  const selectors = list(spec.targetSelectors);
  const count =
    Number(has(spec, "targetRef")) + Number(has(spec, "targetRefs")) + Number(selectors.length > 0);
  if (count !== 1)
    out.push({
      path: "spec",
      message: "exactly one of targetRef, targetRefs or targetSelectors must be set",
    });
  const refs: Array<[string, unknown]> = [];
  if (isObj(spec.targetRef)) refs.push(["spec.targetRef", spec.targetRef]);
  list(spec.targetRefs).forEach((ref, i) => {
    refs.push([`spec.targetRefs[${i}]`, ref]);
  });
  for (const [path, ref] of refs) {
    if (!isObj(ref)) continue;
    if (ref.group !== GATEWAY_API_GROUP)
      out.push({ path: `${path}.group`, message: `must be ${GATEWAY_API_GROUP}` });
    if (!TARGET_KINDS.includes(String(ref.kind)))
      out.push({ path: `${path}.kind`, message: `must be one of ${TARGET_KINDS.join(", ")}` });
  }
  selectors.forEach((sel, i) => {
    if (isObj(sel) && has(sel, "group") && sel.group !== GATEWAY_API_GROUP) {
      out.push({ path: `spec.targetSelectors[${i}].group`, message: `must be ${GATEWAY_API_GROUP}` });
    }
  });
  if (has(spec, "mergeType")) {
    if (spec.mergeType === "Replace")
      out.push({ path: "spec.mergeType", message: "Replace is not a valid MergeType for SecurityPolicy" });
    const kinds = [
      ...refs.map(([, r]) => (isObj(r) ? r.kind : undefined)),
      ...selectors.map((s) => (isObj(s) ? s.kind : undefined)),
    ];
    if (!kinds.every((k) => ROUTE_KINDS.includes(String(k))))
      out.push({ path: "spec.mergeType", message: "mergeType can only be used with xRoute targets" });
  }
}

function checkRemoteJwks(remote: Obj, path: string, out: PolicyIssue[]): void {
  if (has(remote, "backendRef"))
    out.push({
      path: `${path}.backendRef`,
      message: "BackendRefs must be used, backendRef is not supported",
    });
  const retry =
    isObj(remote.backendSettings) && isObj(remote.backendSettings.retry)
      ? remote.backendSettings.retry
      : undefined;
  if (retry && isObj(retry.perRetry) && has(retry.perRetry, "timeout")) {
    out.push({
      path: `${path}.backendSettings.retry.perRetry.timeout`,
      message: "Retry timeout is not supported",
    });
  }
  if (retry && isObj(retry.retryOn) && has(retry.retryOn, "httpStatusCodes")) {
    out.push({
      path: `${path}.backendSettings.retry.retryOn.httpStatusCodes`,
      message: "HTTPStatusCodes is not supported",
    });
  }
  if (typeof remote.uri === "string" && !/^https:\/\//i.test(remote.uri)) {
    out.push({
      path: `${path}.uri`,
      message: "must be an https URI: Envoy Gateway fetches the JWKS over TLS only",
    });
  }
}

function checkProvider(p: Obj, path: string, out: PolicyIssue[]): void {
  if (p.recomputeRoute === true && list(p.claimToHeaders).length === 0) {
    out.push({
      path: `${path}.claimToHeaders`,
      message: "claimToHeaders must be specified if recomputeRoute is enabled",
    });
  }
  const remote = has(p, "remoteJWKS");
  const local = has(p, "localJWKS");
  if (!remote && !local) out.push({ path, message: "either remoteJWKS or localJWKS must be specified" });
  if (remote && local) out.push({ path, message: "remoteJWKS and localJWKS cannot both be specified" });
  if (isObj(p.remoteJWKS)) checkRemoteJwks(p.remoteJWKS, `${path}.remoteJWKS`, out);
  if (isObj(p.localJWKS)) {
    const l = p.localJWKS;
    const type = l.type ?? "Inline";
    const ok =
      type === "Inline"
        ? has(l, "inline") && !has(l, "valueRef")
        : type === "ValueRef" && has(l, "valueRef") && !has(l, "inline");
    if (!ok)
      out.push({
        path: `${path}.localJWKS`,
        message: "exactly one of inline or valueRef must be set with correct type",
      });
  }
  if (typeof p.issuer !== "string" || p.issuer.length === 0) {
    out.push({
      path: `${path}.issuer`,
      message: "issuer is required: without it tokens of any issuer signed by these keys pass",
    });
  }
}

function checkJwt(jwt: Obj, out: PolicyIssue[]): void {
  if (has(jwt, "optional") && has(jwt, "failOpen")) {
    out.push({
      path: "spec.jwt",
      message: "optional and failOpen cannot both be set; failOpen already tolerates a missing JWT",
    });
  }
  const seen = new Set<unknown>();
  list(jwt.providers).forEach((p, i) => {
    if (!isObj(p)) return;
    if (seen.has(p.name))
      out.push({
        path: `spec.jwt.providers[${i}].name`,
        message: `duplicate provider name "${String(p.name)}"`,
      });
    seen.add(p.name);
    checkProvider(p, `spec.jwt.providers[${i}]`, out);
  });
}

function checkAuthorization(spec: Obj, out: PolicyIssue[]): void {
  const rules = isObj(spec.authorization) ? list(spec.authorization.rules) : [];
  rules.forEach((rule, i) => {
    if (!isObj(rule)) return;
    if (!has(rule, "principal") && !has(rule, "cel")) {
      out.push({
        path: `spec.authorization.rules[${i}]`,
        message: "at least one of principal or cel must be specified",
      });
    }
    if (isObj(rule.principal) && has(rule.principal, "jwt") && !has(spec, "jwt")) {
      out.push({
        path: "spec.jwt",
        message: "if authorization.rules.principal.jwt is used, jwt must be defined",
      });
    }
  });
}

/** The CRD's CEL rules (and our own hardening checks) for a SecurityPolicy document. */
export function checkSecurityPolicy(doc: unknown): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  if (!isObj(doc) || !isObj(doc.spec)) return [{ path: "spec", message: "a SecurityPolicy needs a spec" }];
  const spec = doc.spec;
  checkTargets(spec, out);
  if (isObj(spec.jwt)) checkJwt(spec.jwt, out);
  if (isObj(spec.apiKeyAuth)) {
    list(spec.apiKeyAuth.extractFrom).forEach((source, i) => {
      const n = isObj(source) ? ["headers", "params", "cookies"].filter((k) => has(source, k)).length : 0;
      if (n !== 1)
        out.push({
          path: `spec.apiKeyAuth.extractFrom[${i}]`,
          message: "exactly one of headers, params, or cookies must be specified",
        });
    });
  }
  checkAuthorization(spec, out);
  return out;
}

const JWT_AUTHN_TYPE = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

/** Provider names a JwtRequirement refers to, with their paths. */
function requiredProviders(req: unknown, path: string, out: Array<[string, string]>): void {
  if (!isObj(req)) return;
  if (typeof req.provider_name === "string") out.push([`${path}.provider_name`, req.provider_name]);
  if (isObj(req.provider_and_audiences) && typeof req.provider_and_audiences.provider_name === "string") {
    out.push([`${path}.provider_and_audiences.provider_name`, req.provider_and_audiences.provider_name]);
  }
  for (const key of ["requires_any", "requires_all"]) {
    const group = req[key];
    if (!isObj(group)) continue;
    list(group.requirements).forEach((r, i) => {
      requiredProviders(r, `${path}.${key}.requirements[${i}]`, out);
    });
  }
}

function checkRawProvider(p: Obj, path: string, clusters: Map<string, Obj>, out: PolicyIssue[]): void {
  if (typeof p.issuer !== "string" || p.issuer.length === 0) {
    out.push({
      path: `${path}.issuer`,
      message: "issuer is required: without it tokens of any issuer signed by these keys pass",
    });
  }
  const httpUri = isObj(p.remote_jwks) && isObj(p.remote_jwks.http_uri) ? p.remote_jwks.http_uri : undefined;
  if (!httpUri || typeof httpUri.uri !== "string") return;
  let url: URL | undefined;
  try {
    url = new URL(httpUri.uri);
  } catch {
    out.push({ path: `${path}.remote_jwks.http_uri.uri`, message: "is not a valid URL" });
    return;
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    out.push({
      path: `${path}.remote_jwks.http_uri.uri`,
      message: `plain http is allowed only on loopback hosts, not ${url.hostname}`,
    });
  }
  const cluster = clusters.get(String(httpUri.cluster));
  if (!cluster) {
    out.push({
      path: `${path}.remote_jwks.http_uri.cluster`,
      message: `no cluster named "${String(httpUri.cluster)}" in clusters`,
    });
    return;
  }
  const socket = isObj(cluster.transport_socket) ? cluster.transport_socket : undefined;
  const tls = isObj(socket?.typed_config) ? socket.typed_config : undefined;
  const where = `clusters[${String(cluster.__index)}]`;
  if (url.protocol === "https:") {
    if (socket?.name !== "envoy.transport_sockets.tls") {
      out.push({
        path: `${where}.transport_socket`,
        message: "the JWKS URI is https: the cluster needs the envoy.transport_sockets.tls transport socket",
      });
    } else if (typeof tls?.sni !== "string" || tls.sni.toLowerCase() !== url.hostname) {
      out.push({
        path: `${where}.transport_socket.typed_config.sni`,
        message: `must be the JWKS host ${url.hostname}`,
      });
    }
  } else if (socket) {
    out.push({
      path: `${where}.transport_socket`,
      message: "the JWKS URI is plain http: remove the TLS transport socket",
    });
  }
}

/** Cross references of a raw Envoy fragment (`http_filters` + `clusters`) the proto cannot state. */
export function checkRawEnvoy(doc: unknown): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  if (!isObj(doc)) return [{ path: "", message: "expected a mapping with http_filters and clusters" }];
  const filters = list(doc.http_filters);
  const index = filters.findIndex((f) => isObj(f) && f.name === "envoy.filters.http.jwt_authn");
  if (index < 0) return [{ path: "http_filters", message: "no envoy.filters.http.jwt_authn filter" }];
  const last = filters[filters.length - 1];
  if (!isObj(last) || last.name !== "envoy.filters.http.router") {
    out.push({
      path: `http_filters[${filters.length - 1}]`,
      message: "the last HTTP filter must be envoy.filters.http.router",
    });
  }
  const base = `http_filters[${index}].typed_config`;
  const config = (filters[index] as Obj).typed_config;
  if (!isObj(config) || config["@type"] !== JWT_AUTHN_TYPE) {
    return [...out, { path: `${base}.@type`, message: `must be ${JWT_AUTHN_TYPE}` }];
  }
  const clusters = new Map<string, Obj>();
  list(doc.clusters).forEach((c, i) => {
    if (isObj(c) && typeof c.name === "string") clusters.set(c.name, { ...c, __index: i });
  });
  const providers = isObj(config.providers) ? config.providers : {};
  if (Object.keys(providers).length === 0)
    out.push({ path: `${base}.providers`, message: "at least one provider is needed" });
  for (const [name, p] of Object.entries(providers)) {
    if (isObj(p)) checkRawProvider(p, `${base}.providers.${name}`, clusters, out);
  }
  list(config.rules).forEach((rule, i) => {
    const refs: Array<[string, string]> = [];
    if (isObj(rule)) requiredProviders(rule.requires, `${base}.rules[${i}].requires`, refs);
    for (const [path, name] of refs) {
      if (!(name in providers)) out.push({ path, message: `unknown provider "${name}"` });
    }
  });
  return out;
}

/**
 * The CRD's `openAPIV3Schema` as a JSON Schema for ajv (`strict: false`): `x-kubernetes-*` keywords
 * dropped, `nullable` turned into a `null` type, and unknown fields rejected where the structural
 * schema would prune them (objects with `properties` and no `x-kubernetes-preserve-unknown-fields`),
 * as `kubectl apply` does with strict field validation.
 */
export function crdToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(crdToJsonSchema);
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-kubernetes-") || key === "nullable") continue;
    out[key] =
      key === "properties" && isObj(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, crdToJsonSchema(v)]))
        : crdToJsonSchema(value);
  }
  if (node.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  if (
    isObj(node.properties) &&
    node.additionalProperties === undefined &&
    node["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/** A JSON pointer (`/spec/jwt/providers/0`) as a dotted path (`spec.jwt.providers[0]`). */
export function pointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

/** ajv errors as issues; the path names the offending (unknown or missing) field itself. */
export function schemaIssues(
  errors:
    | ReadonlyArray<{
        instancePath: string;
        keyword: string;
        params: Record<string, unknown>;
        message?: string;
      }>
    | null
    | undefined,
  prefix = "",
): PolicyIssue[] {
  return (errors ?? []).map((e) => {
    const field =
      e.keyword === "additionalProperties"
        ? e.params.additionalProperty
        : e.keyword === "required"
          ? e.params.missingProperty
          : undefined;
    const pointer = field === undefined ? e.instancePath : `${e.instancePath}/${String(field)}`;
    const inner = pointerToPath(pointer);
    const path = prefix && inner ? `${prefix}.${inner}` : prefix || inner;
    return {
      path,
      message: e.keyword === "additionalProperties" ? "unknown field" : (e.message ?? e.keyword),
    };
  });
}
