/**
 * `opencode-oidc envoy` and `well-known` through the bundled CLI: exit codes, what goes to stderr,
 * and the printed documents checked against the vendored Envoy Gateway CRDs (schema and CEL rules).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { schemaIssues, structuralValidator } from "../../src/gateway/crd-schema.js";
import { httpRouteFilterSchema, securityPolicySchema } from "../../src/gateway/generated/crds.js";
import { checkHttpRouteFilter, checkSecurityPolicy } from "../../src/gateway/validate-policy.js";
import { type Exit, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML
type Doc = Record<string, any>;

let build: EngineBuild;
let dir: string;
beforeAll(async () => {
  build = await buildEngine();
  dir = mkdtempSync(join(tmpdir(), "cli-envoy-"));
});
afterAll(() => {
  build?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({
  PATH: process.env.PATH,
  HOME: dir,
  XDG_CONFIG_HOME: join(dir, "config"),
  OKTA_ISSUER: "https://keycloak.example.com/realms/ai",
  OKTA_CLIENT_ID: "opencode",
  OKTA_AUDIENCE: "api://ai",
  NO_COLOR: "1",
});
const cli = (...args: string[]): Promise<Exit> =>
  run(process.execPath, [build.cli, ...args], { env: env(), cwd: dir });

const policy = structuralValidator(securityPolicySchema);
const filter = structuralValidator(httpRouteFilterSchema);
/** What the API server would say about each Envoy Gateway document (none: it would be accepted). */
function crdIssues(doc: Doc) {
  if (doc.kind === "SecurityPolicy")
    return [...(policy(doc) ? [] : schemaIssues(policy.errors)), ...checkSecurityPolicy(doc)];
  if (doc.kind === "HTTPRouteFilter")
    return [...(filter(doc) ? [] : schemaIssues(filter.errors)), ...checkHttpRouteFilter(doc)];
  return [];
}

describe("opencode-oidc envoy --format gateway with an http JWKS URI", () => {
  it("in the cluster: exit 0, no warning, a policy the CRD accepts", async () => {
    const uri = "http://keycloak.auth.svc.cluster.local/realms/ai/protocol/openid-connect/certs";
    const result = await cli("envoy", "--format", "gateway", "--jwks-uri", uri);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    const docs = parseAllDocuments(result.stdout).map((d) => d.toJS() as Doc);
    expect(docs[0]?.spec.jwt.providers[0].remoteJWKS.uri).toBe(uri);
    for (const doc of docs) expect(crdIssues(doc), doc.kind).toEqual([]);
    expect(docs.map((d) => d.kind)).toContain("HTTPRouteFilter");
  });

  it("outside the cluster: exit 0, a warning on stderr, the policy still valid", async () => {
    const result = await cli("envoy", "--format", "gateway", "--jwks-uri", "http://keys.example.com/jwks");
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^Warning: the JWKS URI http:\/\/keys\.example\.com\/jwks uses plain http/);
    const docs = parseAllDocuments(result.stdout).map((d) => d.toJS() as Doc);
    for (const doc of docs) expect(crdIssues(doc), doc.kind).toEqual([]);
  });

  it("https stays the default: no warning", async () => {
    const result = await cli("envoy", "--jwks-uri", "https://keycloak.example.com/realms/ai/certs");
    expect([result.code, result.stderr]).toEqual([0, ""]);
  });
});

describe("opencode-oidc envoy --target (L7)", () => {
  it("refuses a newline or another control character with a usage error and prints no YAML", async () => {
    for (const target of ["ai\nkind: Secret", "ai\r", "ai\u001b[31m"]) {
      const result = await cli("envoy", "--jwks-uri", "https://x.example.com/keys", "--target", target);
      expect(result.code, JSON.stringify(target)).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain("(code USAGE)");
      expect(result.stderr).not.toContain("\u001b");
    }
  });
});

describe("opencode-oidc well-known", () => {
  it("prints the document (JSON on stdout, the how-to on stderr), and only JSON with --json", async () => {
    const pretty = await cli("well-known");
    expect(pretty.code).toBe(0);
    const doc = JSON.parse(pretty.stdout);
    expect(doc.auth.command).toContain("--well-known");
    expect(pretty.stderr).toContain("opencode auth login https://ai.haiilo.cloud");
    const compact = await cli("well-known", "--json", "--plugin", "file:///opt/pkg");
    expect([compact.code, compact.stderr]).toEqual([0, ""]);
    expect(compact.stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(compact.stdout).config.plugin[0][0]).toBe("file:///opt/pkg");
  });

  it("says what is missing when the preset cannot log in yet", async () => {
    const result = await run(process.execPath, [build.cli, "well-known"], {
      env: { ...env(), OKTA_CLIENT_ID: "" },
      cwd: dir,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("OKTA_CLIENT_ID");
  });
});
