/**
 * `oidc.profile`: what each profile fills in, that every field stays overridable, where `presets
 * show` says a value came from, and the example presets in presets/examples/.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PRESET_DEFAULTS } from "../../src/core/defaults.js";
import { STRICT_COMPAT } from "../../src/core/oauth/compat.js";
import { PROFILE_FIELDS, PROFILES, withProfile } from "../../src/presets/profiles.js";
import { type Layer, resolvePresets } from "../../src/presets/resolve.js";
import type { PresetDocument } from "../../src/presets/types.js";
import { checkPresetDocument } from "../../src/presets/validate.js";

const root = join(import.meta.dirname, "../..");
const TENANT = "6c3b1f7e-0000-4000-8000-00000000e1d1";

async function resolveOne(preset: PresetDocument, env: Record<string, string> = {}, more: Layer[] = []) {
  const layers: Layer[] = [{ source: "file test.json", document: { presets: [preset] } }, ...more];
  const resolution = await resolvePresets({ configFiles: false, env, extraLayers: layers });
  expect(resolution.issues).toEqual([]);
  const resolved = resolution.presets.get(preset.id);
  if (!resolved) throw new Error(`${preset.id} did not resolve`);
  return resolved;
}

const doc = (profile: string, oidc: Record<string, unknown> = {}): PresetDocument =>
  ({
    id: "t",
    provider: { id: "t", baseURL: "https://ai.example.com/v1" },
    oidc: { profile, issuer: "https://idp.example.com", clientId: "c", ...oidc },
  }) as PresetDocument;

describe("IdP profiles", () => {
  it.each(PROFILES)(
    "%s: the preset with the profile's values filled in is valid by the schema",
    async (profile) => {
      const filled = withProfile(
        doc(profile, { issuer: `https://login.microsoftonline.com/${TENANT}/v2.0` }),
      );
      expect(await checkPresetDocument(filled, "test")).toEqual([]);
    },
  );

  it("generic (the default) is strict and sets nothing", async () => {
    const { preset, origins } = await resolveOne({
      ...doc("generic"),
      oidc: { issuer: "https://i.example", clientId: "c" },
    });
    expect(preset.oidc.profile).toBe("generic");
    expect(preset.oidc.compat).toEqual(STRICT_COMPAT);
    expect(preset.oidc.audienceParam).toBe("none");
    expect(preset.oidc.scopes).toEqual(["openid", "profile", "email", "offline_access"]);
    expect(Object.values(origins).filter((o) => o.source.startsWith("profile "))).toEqual([]);
  });

  it("entra: audience as a scope, the v1 token issuer derived from the tenant, verification_url and scope on refresh", async () => {
    const { preset, origins } = await resolveOne(
      doc("entra", { issuer: `https://login.microsoftonline.com/${TENANT}/v2.0` }),
    );
    expect(preset.oidc.audienceParam).toBe("scope");
    expect(preset.oidc.compat).toEqual({
      verificationUrl: true,
      tokenEndpointAuth: "none",
      refreshScope: true,
      revocation: "rfc7009",
      accessTokenIssuer: `https://sts.windows.net/${TENANT}/`,
    });
    expect(origins["/oidc/compat/accessTokenIssuer"]).toEqual({
      source: "profile entra",
      pointer: "/oidc/compat/accessTokenIssuer",
    });
    expect(origins["/oidc/audienceParam"]?.source).toBe("profile entra");
  });

  it("entra with an issuer that is not Entra's leaves the token issuer alone", async () => {
    const { preset } = await resolveOne(doc("entra"));
    expect(preset.oidc.compat.accessTokenIssuer).toBeNull();
  });

  it("glewlwyd: the audience as an RFC 8707 resource, revocation with the delete_token grant", async () => {
    const { preset, origins } = await resolveOne(doc("glewlwyd"));
    expect(preset.oidc.audienceParam).toBe("resource");
    expect(preset.oidc.compat).toEqual({ ...STRICT_COMPAT, revocation: "delete-token-grant" });
    expect(origins["/oidc/compat/revocation"]?.source).toBe("profile glewlwyd");
  });

  it("keycloak: PKCE on the device request, and `pkce: false` in the preset turns it off", async () => {
    const { preset, origins } = await resolveOne(doc("keycloak"));
    expect(preset.auth.deviceFlow.pkce).toBe(true);
    expect(preset.oidc.compat).toEqual(STRICT_COMPAT);
    expect(origins["/auth/deviceFlow/pkce"]?.source).toBe("profile keycloak");
    const off = await resolveOne({ ...doc("keycloak"), auth: { deviceFlow: { pkce: false } } });
    expect(off.preset.auth.deviceFlow.pkce).toBe(false);
    expect(off.origins["/auth/deviceFlow/pkce"]?.source).toBe("file test.json");
    expect((await resolveOne(doc("okta"))).preset.auth.deviceFlow.pkce).toBe(false);
  });

  it("auth0: the audience parameter", async () => {
    expect((await resolveOne(doc("auth0"))).preset.oidc.audienceParam).toBe("audience");
  });

  it("google: no offline_access, verification_url, the client secret at the token endpoint (and missing until set)", async () => {
    const { preset, missing } = await resolveOne(doc("google"));
    expect(preset.oidc.scopes).toEqual(["openid", "profile", "email"]);
    expect(preset.oidc.compat).toMatchObject({
      verificationUrl: true,
      tokenEndpointAuth: "client_secret_post",
    });
    expect(missing.map((m) => m.pointer)).toEqual(["/oidc/clientSecret"]);
  });

  it("every profile field can be overridden one by one, by a file or the environment; the others stay", async () => {
    const preset: PresetDocument = {
      ...doc("google", { compat: { verificationUrl: false }, scopes: ["openid", "email"] }),
      env: { T_PROFILE: "/oidc/profile", T_SECRET: "/oidc/clientSecret" },
    };
    const { preset: resolved, origins, missing } = await resolveOne(preset, { T_SECRET: "s3cret" });
    expect(resolved.oidc.compat.verificationUrl).toBe(false);
    expect(resolved.oidc.compat.tokenEndpointAuth).toBe("client_secret_post");
    expect(resolved.oidc.scopes).toEqual(["openid", "email"]);
    expect(resolved.oidc.clientSecret).toBe("s3cret");
    expect(missing).toEqual([]);
    expect(origins["/oidc/compat/verificationUrl"]?.source).toBe("file test.json");
    expect(origins["/oidc/compat/tokenEndpointAuth"]?.source).toBe("profile google");
    expect(origins["/oidc/clientSecret"]?.source).toBe("env T_SECRET");

    // The profile itself can come from the environment.
    const switched = await resolveOne(preset, { T_PROFILE: "auth0" });
    expect(switched.preset.oidc.profile).toBe("auth0");
    expect(switched.preset.oidc.audienceParam).toBe("audience");
    expect(switched.preset.oidc.compat.tokenEndpointAuth).toBe("none");
  });

  it("a higher layer that changes only the profile gets that profile's defaults", async () => {
    const over: Layer = {
      source: "plugin options",
      document: { presets: [{ id: "t", oidc: { profile: "entra" } }] },
    };
    const { preset } = await resolveOne(doc("google"), {}, [over]);
    expect(preset.oidc.audienceParam).toBe("scope");
    expect(preset.oidc.compat.tokenEndpointAuth).toBe("none");
  });

  it("an unknown profile is a schema error that lists the profiles", async () => {
    const resolution = await resolvePresets({
      configFiles: false,
      env: {},
      extraLayers: [{ source: "file x.json", document: { presets: [doc("azure")] } }],
    });
    expect(resolution.issues.map((i) => `${i.pointer}: ${i.message}`)).toEqual([
      `/presets/0/oidc/profile: expected one of ${PROFILES.map((p) => JSON.stringify(p)).join(", ")}, got "azure"`,
    ]);
  });

  it("the Haiilo preset is an Okta one, and a tenant extending it with another profile gets that profile's audience", async () => {
    const { preset } = await resolveOne({
      id: "acme",
      extends: "haiilo",
      provider: { id: "acme" },
      oidc: { profile: "auth0" },
    });
    expect(preset.oidc.audienceParam).toBe("audience");
    const haiilo = (await resolvePresets({ configFiles: false, env: {} })).presets.get("haiilo");
    expect(haiilo?.preset.oidc.profile).toBe("okta");
    expect(haiilo?.preset.oidc.audienceParam).toBe("none");
  });

  it("the schema's defaults of oidc.profile and oidc.compat are the ones applied", () => {
    const schema = JSON.parse(readFileSync(join(root, "schemas", "preset.schema.json"), "utf8"));
    const oidc = schema.properties.oidc.properties;
    expect(oidc.profile.default).toBe(PRESET_DEFAULTS.profile);
    expect(oidc.profile.enum).toEqual([...PROFILES]);
    const compat = Object.fromEntries(
      Object.entries(oidc.compat.properties as Record<string, { default?: unknown }>).map(([k, v]) => [
        k,
        v.default ?? null,
      ]),
    );
    expect(compat).toEqual(STRICT_COMPAT);
  });

  it("the table only names fields of the schema", () => {
    for (const fields of Object.values(PROFILE_FIELDS)) {
      for (const { pointer } of fields)
        expect(pointer).toMatch(/^\/(oidc\/(audienceParam|scopes|compat\/\w+)|auth\/deviceFlow\/pkce)$/);
    }
  });
});

describe("example presets (presets/examples)", () => {
  const dir = join(root, "presets", "examples");
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  const load = (file: string) => JSON.parse(readFileSync(join(dir, file), "utf8")) as PresetDocument;

  it("cover Okta, Entra ID, Auth0, Keycloak, Google and glewlwyd", () => {
    expect(files.map((f) => load(f).oidc?.profile).sort()).toEqual([
      "auth0",
      "entra",
      "glewlwyd",
      "google",
      "keycloak",
      "okta",
    ]);
  });

  it.each(files)("%s validates against the schema and resolves without problems", async (file) => {
    const preset = load(file);
    expect(await checkPresetDocument(preset, file)).toEqual([]);
    const resolved = await resolveOne(preset);
    expect(resolved.preset.oidc.profile).toBe(file.replace(/\.json$/, ""));
  });

  it.each(files)("%s says what to set up on the IdP side, and leaves tenant values to the user", (file) => {
    const preset = load(file);
    const comment = Array.isArray(preset.$comment) ? preset.$comment.join("\n") : (preset.$comment ?? "");
    expect(comment.length).toBeGreaterThan(200);
    expect(comment).toMatch(/oidc\.clientId/);
    expect(preset.oidc?.clientId).toBeNull();
    // Every null the user fills in can come from an environment variable of the preset.
    const envTargets = Object.values(preset.env ?? {});
    for (const [key, value] of Object.entries(preset.oidc ?? {})) {
      if (value === null) expect(envTargets).toContain(`/oidc/${key}`);
    }
  });
});
