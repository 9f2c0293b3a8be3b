/** The /.well-known/opencode document: its shape (OpenCode 1.18.33's reader) and the preset it carries. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, describe, expect, it } from "vitest";
import { presetOptions, WELL_KNOWN_MARKER, wellKnownDocument } from "../../src/opencode/well-known.js";
import { BUNDLED } from "../../src/presets/bundled.js";
import { applyDefaults } from "../../src/presets/defaults.js";
import { resolvePresets } from "../../src/presets/resolve.js";
import type { Preset, PresetDocument } from "../../src/presets/types.js";
import { checkConfigDocument } from "../../src/presets/validate.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const schema = JSON.parse(readFileSync(resolve(ROOT, "schemas/opencode-well-known.schema.json"), "utf8"));
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
const HAIILO = BUNDLED[0]?.preset as PresetDocument;
const home = mkdtempSync(join(tmpdir(), "well-known-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const configured = (over: PresetDocument["oidc"] = {}, base: PresetDocument = HAIILO): Preset =>
  applyDefaults({
    ...base,
    provider: { ...base.provider, baseURL: "https://ai.acme.example/v1" },
    oidc: {
      ...base.oidc,
      issuer: "https://acme.okta.com/oauth2/aus1",
      clientId: "0oa1",
      audience: "api://ai",
      ...over,
    },
  });

/** What the plugin on a clean machine (no config files, no environment) makes of the options. */
async function resolvedOnEmployeeMachine(options: unknown, id: string) {
  const resolution = await resolvePresets({
    cwd: home,
    env: { HOME: home, XDG_CONFIG_HOME: home },
    pluginOptions: options,
  });
  expect(resolution.issues).toEqual([]);
  expect(resolution.defaultId).toBe(id);
  return resolution.presets.get(id)?.preset;
}

describe("wellKnownDocument", () => {
  it("has the shape OpenCode 1.18.33 reads, with the plugin and the login pinned to this version", () => {
    const doc = wellKnownDocument(configured(), { version: "1.2.3" });
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.auth.command.slice(0, 9)).toEqual([
      "npx",
      "--yes",
      "--package=@haiilo/opencode-haiilo-ai@1.2.3",
      "--",
      "opencode-oidc",
      "login",
      "--well-known",
      "--preset",
      "haiilo",
    ]);
    expect(doc.auth.env).toBe("OPENCODE_OIDC_WELL_KNOWN");
    expect(doc.config.plugin[0]?.[0]).toBe("@haiilo/opencode-haiilo-ai@1.2.3");
    expect(WELL_KNOWN_MARKER).not.toMatch(/^eyJ/);
  });

  it("carries exactly the fields that differ from the bundled preset, in the plugin and in the login", async () => {
    const preset = configured();
    const doc = wellKnownDocument(preset, { version: "1.2.3", pluginSpec: "file:///tmp/pkg" });
    const [spec, options] = doc.config.plugin[0] as [string, unknown];
    expect(spec).toBe("file:///tmp/pkg");
    expect(options).toEqual({
      default: "haiilo",
      presets: [
        {
          id: "haiilo",
          provider: { baseURL: "https://ai.acme.example/v1" },
          oidc: { issuer: "https://acme.okta.com/oauth2/aus1", clientId: "0oa1", audience: "api://ai" },
        },
      ],
    });
    expect(await checkConfigDocument(options, "well-known")).toEqual([]);
    const i = doc.auth.command.indexOf("--plugin-options");
    expect(JSON.parse(doc.auth.command[i + 1] ?? "")).toEqual(options);
    const { log: _l, env: _e, ...expected } = preset;
    const { log: _l2, env: _e2, ...got } = (await resolvedOnEmployeeMachine(options, "haiilo")) as Preset;
    expect(got).toEqual(expected);
  });

  it("names a bundled preset used as shipped by its spec alone", () => {
    const shipped = applyDefaults(HAIILO);
    expect(presetOptions(shipped)).toBeUndefined();
    const doc = wellKnownDocument(shipped, { version: "1.2.3" });
    expect(doc.config.plugin).toEqual(["@haiilo/opencode-haiilo-ai@1.2.3"]);
    expect(doc.auth.command).not.toContain("--plugin-options");
  });

  it("writes a tenant preset as an extension of the bundled one, which the plugin resolves the same", async () => {
    const acme = configured(
      { scopes: ["openid", "offline_access"] },
      {
        ...HAIILO,
        id: "acme",
        name: "Acme AI",
        provider: { ...HAIILO.provider, id: "acmeAi", name: "Acme AI" },
      },
    );
    const options = presetOptions(acme) as { presets: PresetDocument[] };
    expect(options.presets[0]).toMatchObject({
      id: "acme",
      extends: "haiilo",
      name: "Acme AI",
      oidc: { scopes: ["openid", "offline_access"] },
    });
    expect(options.presets[0]?.models).toBeUndefined();
    const { log: _l, env: _e, ...expected } = acme;
    const { log: _l2, env: _e2, ...got } = (await resolvedOnEmployeeMachine(options, "acme")) as Preset;
    expect(got).toEqual({ ...expected });
  });

  it("runs a given login command instead of npx (tests)", () => {
    const doc = wellKnownDocument(configured(), {
      version: "1.2.3",
      loginCommand: ["/usr/bin/node", "/x/cli.js"],
    });
    expect(doc.auth.command.slice(0, 4)).toEqual(["/usr/bin/node", "/x/cli.js", "login", "--well-known"]);
  });
});
