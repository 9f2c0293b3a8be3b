/**
 * Checks a JSON Schema cannot express. For Envoy Gateway documents: the CRD's own CEL rules
 * (`x-kubernetes-validations`, evaluated from the vendored CRD by cel-rules.ts) plus a few hardening
 * checks of ours the CRD does not make (issuer set, unique provider names, an http(s) JWKS URI). For
 * raw Envoy: cross references (rules → providers, http_uri → clusters, TLS to the JWKS host) the proto
 * cannot state.
 */
import { isLoopbackHost } from "../core/loopback.js";
import { celRuleIssues } from "./cel-rules.js";
import { httpRouteFilterSchema, securityPolicySchema } from "./generated/crds.js";
import type { PolicyIssue } from "./policy-issue.js";

export type { PolicyIssue } from "./policy-issue.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Our own checks of a JWT provider, beyond the CRD. */
function hardenProvider(p: Obj, path: string, out: PolicyIssue[]): void {
  if (typeof p.issuer !== "string" || p.issuer.length === 0) {
    out.push({
      path: `${path}.issuer`,
      message: "issuer is required: without it tokens of any issuer signed by these keys pass",
    });
  }
  const uri = isObj(p.remoteJWKS) ? p.remoteJWKS.uri : undefined;
  if (typeof uri === "string" && !/^https?:\/\/[^/?#\s]+/i.test(uri)) {
    out.push({
      path: `${path}.remoteJWKS.uri`,
      message: "must be an https (or, inside the cluster, http) URL of the issuer's JWKS",
    });
  }
}

/**
 * Why Envoy Gateway would reject (or we refuse) a SecurityPolicy: the CRD's CEL rules at the nodes
 * where they are declared, then our hardening checks. Field types and unknown fields are the JSON
 * Schema's part (crd-schema.ts).
 */
export function checkSecurityPolicy(doc: unknown): PolicyIssue[] {
  if (!isObj(doc) || !isObj(doc.spec)) return [{ path: "spec", message: "a SecurityPolicy needs a spec" }];
  const out = celRuleIssues(securityPolicySchema, doc);
  const jwt = doc.spec.jwt;
  if (isObj(jwt)) {
    const seen = new Set<unknown>();
    list(jwt.providers).forEach((p, i) => {
      if (!isObj(p)) return;
      if (seen.has(p.name))
        out.push({
          path: `spec.jwt.providers[${i}].name`,
          message: `duplicate provider name "${String(p.name)}"`,
        });
      seen.add(p.name);
      hardenProvider(p, `spec.jwt.providers[${i}]`, out);
    });
  }
  return out;
}

/** The HTTPRouteFilter CRD's CEL rules for a filter document. */
export function checkHttpRouteFilter(doc: unknown): PolicyIssue[] {
  if (!isObj(doc) || !isObj(doc.spec)) return [{ path: "spec", message: "an HTTPRouteFilter needs a spec" }];
  return celRuleIssues(httpRouteFilterSchema, doc);
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

/** Whether a jwt_authn rule's match covers the exact path (prefix or path match only). */
function ruleCovers(rule: unknown, path: string): boolean {
  if (!isObj(rule) || !isObj(rule.match)) return false;
  const { match } = rule;
  if (typeof match.path === "string") return match.path === path;
  if (typeof match.prefix === "string") return path.startsWith(match.prefix);
  return false;
}

/** A route Envoy answers itself must be reachable without a token: the first rule covering it requires none. */
function checkDirectRoutes(doc: Obj, rules: unknown[], base: string, out: PolicyIssue[]): void {
  list(doc.routes).forEach((route, i) => {
    if (!isObj(route) || !isObj(route.direct_response) || !isObj(route.match)) return;
    const path = route.match.path;
    if (typeof path !== "string") return;
    const k = rules.findIndex((r) => ruleCovers(r, path));
    const rule = rules[k];
    if (isObj(rule) && rule.requires !== undefined) {
      out.push({
        path: `${base}.rules[${k}]`,
        message: `requires a token for ${path}, which routes[${i}] answers for clients that have none yet`,
      });
    }
  });
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
  checkDirectRoutes(doc, list(config.rules), base, out);
  list(config.rules).forEach((rule, i) => {
    const refs: Array<[string, string]> = [];
    if (isObj(rule)) requiredProviders(rule.requires, `${base}.rules[${i}].requires`, refs);
    for (const [path, name] of refs) {
      if (!(name in providers)) out.push({ path, message: `unknown provider "${name}"` });
    }
  });
  return out;
}
