import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolvePresets } from "../../src/presets/resolve.js";
import { checkConfigDocument, checkPresetDocument } from "../../src/presets/validate.js";

const root = join(import.meta.dirname, "../..");

describe("shipped presets", () => {
  const files = readdirSync(join(root, "presets")).filter((f) => f.endsWith(".json"));
  it("has at least the Haiilo preset", () => {
    expect(files).toContain("haiilo.json");
  });
  it.each(files)(
    "presets/%s validates against the schema (its API-key pattern cannot backtrack)",
    async (file) => {
      const doc = JSON.parse(readFileSync(join(root, "presets", file), "utf8"));
      expect(await checkPresetDocument(doc, `file ${file}`)).toEqual([]);
    },
  );
  it("the Haiilo preset resolves with the values issue #2 names", async () => {
    const { presets, issues } = await resolvePresets({ configFiles: false, env: {} });
    expect(issues).toEqual([]);
    const haiilo = presets.get("haiilo")!.preset;
    expect(haiilo.provider).toEqual({
      id: "haiiloAi",
      name: "Haiilo AI (gke)",
      npm: "@ai-sdk/openai-compatible",
      baseURL: "https://ai.haiilo.cloud/v1",
    });
    expect(haiilo.oidc.scopes).toEqual([
      "openid",
      "profile",
      "email",
      "offline_access",
      "haiiloai:inference",
    ]);
    expect(haiilo.auth.apiKey).toMatchObject({ header: "x-api-key", pattern: "^sk-" });
    expect(Object.keys(haiilo.env).sort()).toEqual([
      "HAIILO_AI_BASE_URL",
      "OKTA_AUDIENCE",
      "OKTA_CLIENT_ID",
      "OKTA_ISSUER",
      "OKTA_SCOPES",
    ]);
    expect(haiilo.log.file).toBe("okta-auth.log");
    // Production issuer and client id are filled in by the release, never invented here.
    expect(presets.get("haiilo")!.missing.map((m) => m.pointer)).toEqual(["/oidc/issuer", "/oidc/clientId"]);
  });
});

const base = { id: "acme", provider: { id: "acme", baseURL: "https://ai.acme.test/v1" } };

/** [case, document (a preset, wrapped in a config layer), expected source, expected pointer, message fragment] */
const broken: Array<[string, unknown, string, string, string]> = [
  ["id of the wrong type", { ...base, id: 7 }, "plugin options", "/presets/0/id", "expected string"],
  ["id with upper case", { ...base, id: "Acme" }, "plugin options", "/presets/0/id", "is not valid"],
  [
    "unknown top-level key",
    { ...base, issuer: "https://x" },
    "plugin options",
    "/presets/0/issuer",
    'unknown key "issuer"',
  ],
  [
    "unknown nested key",
    { ...base, oidc: { issur: "https://x" } },
    "plugin options",
    "/presets/0/oidc/issur",
    'unknown key "issur"',
  ],
  [
    "issuer not a URL",
    { ...base, oidc: { issuer: "okta.example.com" } },
    "plugin options",
    "/presets/0/oidc/issuer",
    "absolute http(s) URL",
  ],
  [
    "http issuer on a public host",
    { ...base, oidc: { issuer: "http://okta.example.com/oauth2/x" } },
    "plugin options",
    "/presets/0/oidc/issuer",
    "plain http",
  ],
  [
    "http base URL on a public host",
    { ...base, provider: { id: "acme", baseURL: "http://ai.acme.test/v1" } },
    "plugin options",
    "/presets/0/provider/baseURL",
    "plain http",
  ],
  [
    "ftp endpoint",
    { ...base, oidc: { endpoints: { token: "ftp://x/token" } } },
    "plugin options",
    "/presets/0/oidc/endpoints/token",
    "absolute http(s) URL",
  ],
  [
    "scopes not an array",
    { ...base, oidc: { scopes: "openid email" } },
    "plugin options",
    "/presets/0/oidc/scopes",
    "expected array",
  ],
  [
    "scope with a space",
    { ...base, oidc: { scopes: ["openid email"] } },
    "plugin options",
    "/presets/0/oidc/scopes/0",
    "is not valid",
  ],
  [
    "unknown audienceParam",
    { ...base, oidc: { audienceParam: "aud" } },
    "plugin options",
    "/presets/0/oidc/audienceParam",
    'expected one of "none", "audience", "resource"',
  ],
  [
    "negative refresh skew",
    { ...base, oidc: { refreshSkewSeconds: -1 } },
    "plugin options",
    "/presets/0/oidc/refreshSkewSeconds",
    "must be >= 0",
  ],
  [
    "bad glob in allow",
    { ...base, discovery: { allow: ["claude-[a"] } },
    "plugin options",
    "/presets/0/discovery/allow/0",
    "model glob",
  ],
  [
    "bad glob in a model rule",
    { ...base, models: [{ match: "gpt 4" }] },
    "plugin options",
    "/presets/0/models/0/match",
    "model glob",
  ],
  [
    "model rule without match",
    { ...base, models: [{ name: "x" }] },
    "plugin options",
    "/presets/0/models/0/match",
    "is required",
  ],
  [
    "limit of the wrong type",
    { ...base, models: [{ match: "*", limit: { context: "128k" } }] },
    "plugin options",
    "/presets/0/models/0/limit/context",
    "expected integer",
  ],
  [
    "unknown modality",
    { ...base, models: [{ match: "*", modalities: { input: ["smell"] } }] },
    "plugin options",
    "/presets/0/models/0/modalities/input/0",
    "expected one of",
  ],
  [
    "env map to an unknown field",
    { ...base, env: { OKTA_ISSUER: "/oidc/issuerUrl" } },
    "plugin options",
    "/presets/0/env/OKTA_ISSUER",
    "expected one of",
  ],
  [
    "env map with a bad variable name",
    { ...base, env: { "okta-issuer": "/oidc/issuer" } },
    "plugin options",
    "/presets/0/env",
    'invalid key "okta-issuer"',
  ],
  [
    "API key pattern that is not a regex",
    { ...base, auth: { apiKey: { pattern: "^sk-(" } } },
    "plugin options",
    "/presets/0/auth/apiKey/pattern",
    "not a valid regular expression",
  ],
  [
    "API key header with a space",
    { ...base, auth: { apiKey: { header: "x api key" } } },
    "plugin options",
    "/presets/0/auth/apiKey/header",
    "is not valid",
  ],
  [
    "discovery timeout too large",
    { ...base, discovery: { timeoutMs: 120000 } },
    "plugin options",
    "/presets/0/discovery/timeoutMs",
    "must be <= 30000",
  ],
  [
    "extends of an unknown preset",
    { ...base, extends: "nope" },
    "plugin options",
    "/presets/0/extends",
    'unknown preset "nope"',
  ],
  [
    "new preset without a base URL",
    { id: "acme", provider: { id: "acme" } },
    "preset acme",
    "/provider/baseURL",
    "is required",
  ],
];

describe("broken presets are rejected with the right source and JSON pointer", () => {
  it.each(broken)("%s", async (_name, preset, source, pointer, message) => {
    const { issues, presets } = await resolvePresets({
      configFiles: false,
      env: {},
      pluginOptions: { presets: [preset] },
    });
    expect(issues).toContainEqual({ source, pointer, message: expect.stringContaining(message) });
    expect(presets.has("acme")).toBe(false);
    expect(presets.has("haiilo")).toBe(true);
  });

  it("reports every error of a document at once", async () => {
    const issues = await checkConfigDocument(
      { presets: [{ ...base, oidc: { issuer: 1, scopes: "x" }, extra: true }] },
      "file /x/c.json",
    );
    expect(issues.map((i) => i.pointer).sort()).toEqual([
      "/presets/0/extra",
      "/presets/0/oidc/issuer",
      "/presets/0/oidc/scopes",
    ]);
    expect(issues.every((i) => i.source === "file /x/c.json")).toBe(true);
  });

  it("attributes a bad environment value to the variable", async () => {
    const { issues } = await resolvePresets({
      configFiles: false,
      env: { OKTA_ISSUER: "http://okta.evil.test" },
    });
    expect(issues).toEqual([
      { source: "env OKTA_ISSUER", pointer: "/oidc/issuer", message: expect.stringContaining("plain http") },
    ]);
  });

  it("accepts plain http on loopback hosts only", async () => {
    for (const host of ["127.0.0.1:8080", "localhost:3000", "[::1]:9000", "127.1.2.3"]) {
      const { issues } = await resolvePresets({
        configFiles: false,
        env: { OKTA_ISSUER: `http://${host}/oauth2/x`, HAIILO_AI_BASE_URL: `http://${host}/v1` },
      });
      expect(issues, host).toEqual([]);
    }
  });

  it("rejects a config document with the same preset twice", async () => {
    const issues = await checkConfigDocument({ presets: [base, base] }, "plugin options");
    expect(issues).toContainEqual({
      source: "plugin options",
      pointer: "/presets/1/id",
      message: expect.stringContaining("already defined"),
    });
  });
});
