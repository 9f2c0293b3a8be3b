import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolvePresets } from "../../src/presets/resolve.js";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "../../dist/cli.js");

let root: string;
let home: string;
let project: string;
let env: NodeJS.ProcessEnv;

const write = (path: string, value: unknown) => {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value, null, 2));
};
const layer = (patch: Record<string, unknown>) => ({ presets: [{ id: "haiilo", ...patch }] });
const globalFile = () => join(home, ".config", "opencode-oidc", "config.json");
const upTreeFile = () => join(home, "work", "opencode-oidc.config.json");

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "presets-precedence-"));
  home = join(root, "home");
  project = join(home, "work", "repo", "packages", "app");
  mkdirSync(project, { recursive: true });
  env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config") };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("preset resolution layers, lowest to highest", () => {
  it("bundled → global file → config file up the tree → plugin options → env, each overriding the one below", async () => {
    const resolved = async (pluginOptions?: unknown) =>
      (await resolvePresets({ cwd: project, env, pluginOptions })).presets.get("haiilo")?.preset;
    expect((await resolved())?.provider.baseURL).toBe("https://ai.haiilo.cloud/v1");

    write(globalFile(), layer({ name: "Global", provider: { baseURL: "https://global.test/v1" } }));
    expect(await resolved()).toMatchObject({
      name: "Global",
      provider: { baseURL: "https://global.test/v1" },
    });

    // The working folder's file overrides what it may (the name), not where credentials go.
    write(upTreeFile(), layer({ name: "Tree", provider: { baseURL: "https://tree.test/v1" } }));
    expect(await resolved()).toMatchObject({ name: "Tree", provider: { baseURL: "https://global.test/v1" } });

    const plugin = layer({ name: "Plugin", provider: { baseURL: "https://plugin.test/v1" } });
    expect(await resolved(plugin)).toMatchObject({
      name: "Plugin",
      provider: { baseURL: "https://plugin.test/v1" },
    });

    env.HAIILO_AI_BASE_URL = "https://env.test/v1";
    expect((await resolved(plugin))?.provider.baseURL).toBe("https://env.test/v1");
  });

  it("merges fields from every layer and records where each came from", async () => {
    write(globalFile(), layer({ oidc: { clientId: "global-client" } }));
    write(upTreeFile(), layer({ discovery: { deny: ["legacy-*"] } }));
    env.OKTA_SCOPES = "openid offline_access haiiloai:inference";
    const resolution = await resolvePresets({
      cwd: project,
      env,
      pluginOptions: layer({
        name: "Haiilo (plugin)",
        oidc: { issuer: "https://plugin.okta.test/oauth2/default" },
      }),
    });
    expect(resolution.issues).toEqual([]);
    const { preset, origins, missing } = resolution.presets.get("haiilo")!;
    expect(preset.oidc.clientId).toBe("global-client");
    expect(preset.oidc.issuer).toBe("https://plugin.okta.test/oauth2/default");
    expect(preset.discovery.deny).toEqual(["legacy-*"]);
    expect(preset.oidc.scopes).toEqual(["openid", "offline_access", "haiiloai:inference"]);
    expect(preset.name).toBe("Haiilo (plugin)");
    expect(missing).toEqual([]);
    expect(origins["/oidc/clientId"]).toEqual({
      source: `file ${globalFile()}`,
      pointer: "/presets/0/oidc/clientId",
    });
    expect(origins["/discovery/deny"]).toEqual({
      source: `file ${upTreeFile()}`,
      pointer: "/presets/0/discovery/deny",
    });
    expect(origins["/oidc/issuer"]).toEqual({ source: "plugin options", pointer: "/presets/0/oidc/issuer" });
    expect(origins["/oidc/scopes"]).toEqual({ source: "env OKTA_SCOPES", pointer: "/oidc/scopes" });
    expect(origins["/name"]).toEqual({ source: "plugin options", pointer: "/presets/0/name" });
  });

  it("finds the other cosmiconfig places: .opencode-oidcrc (YAML) and a package.json key", async () => {
    write(join(home, "work", "repo", ".opencode-oidcrc"), "presets:\n  - id: haiilo\n    name: from-rc\n");
    expect((await resolvePresets({ cwd: project, env })).presets.get("haiilo")?.preset.name).toBe("from-rc");
    write(join(home, "work", "repo", "packages", "app", "package.json"), {
      name: "app",
      "opencode-oidc": layer({ name: "from-pkg" }),
    });
    expect((await resolvePresets({ cwd: project, env })).presets.get("haiilo")?.preset.name).toBe("from-pkg");
  });

  it("a tenant preset in a config file extends the bundled one and becomes its own preset", async () => {
    write(upTreeFile(), {
      default: "acme",
      presets: [
        {
          id: "acme",
          extends: "haiilo",
          name: "Acme AI",
          provider: { id: "acmeAi", name: "Acme AI", baseURL: "https://ai.acme.test/v1" },
          oidc: { issuer: "https://acme.okta.test", clientId: "acme-cli" },
          env: {},
        },
      ],
    });
    const resolution = await resolvePresets({
      cwd: project,
      env: { ...env, OKTA_ISSUER: "https://dev.okta.test" },
    });
    expect(resolution.defaultId).toBe("acme");
    const acme = resolution.presets.get("acme")!.preset;
    expect(acme.oidc.issuer).toBe("https://acme.okta.test"); // its own empty env map: OKTA_ISSUER is Haiilo's
    expect(acme.oidc.scopes).toContain("haiiloai:inference"); // inherited
    expect(resolution.presets.get("haiilo")!.preset.oidc.issuer).toBe("https://dev.okta.test");
  });

  it("a broken config file is named with the JSON pointer, and the rest still resolves", async () => {
    write(upTreeFile(), layer({ oidc: { issuer: "http://okta.public.test" } }));
    write(globalFile(), "{ not json");
    const { issues, presets } = await resolvePresets({ cwd: project, env });
    expect(issues).toContainEqual({
      source: `file ${upTreeFile()}`,
      pointer: "/presets/0/oidc/issuer",
      message: expect.stringContaining("plain http"),
    });
    expect(issues).toContainEqual({
      source: `file ${globalFile()}`,
      pointer: "",
      message: expect.stringContaining("cannot be read"),
    });
    // The broken layers are left out; the bundled preset below them still resolves.
    expect(presets.get("haiilo")?.preset.oidc.issuer).toBeNull();
  });
});

describe("opencode-oidc presets (the real CLI)", () => {
  it("show --json reports the origin of each overridden field", async () => {
    write(globalFile(), layer({ oidc: { clientId: "global-client" } }));
    write(upTreeFile(), layer({ name: "Haiilo (tree)" }));
    const { stdout } = await run("node", [cli, "presets", "show", "haiilo", "--json"], {
      cwd: project,
      env: { ...env, HAIILO_AI_BASE_URL: "https://env.test/v1" },
    });
    const shown = JSON.parse(stdout);
    expect(shown.preset.provider.baseURL).toBe("https://env.test/v1");
    expect(shown.origins).toEqual({
      "/oidc/clientId": { source: `file ${globalFile()}`, pointer: "/presets/0/oidc/clientId" },
      "/name": { source: `file ${upTreeFile()}`, pointer: "/presets/0/name" },
      "/provider/baseURL": { source: "env HAIILO_AI_BASE_URL", pointer: "/provider/baseURL" },
    });
    expect(shown.missing).toEqual(["/oidc/issuer"]);
  });

  it("validate exits 0 for the shipped presets and 1 with every error of a broken file", async () => {
    const shipped = join(import.meta.dirname, "../../presets/haiilo.json");
    // execFile rejects on a non-zero exit: resolving is the exit 0; the output says which file is valid.
    const valid = await run("node", [cli, "presets", "validate", shipped], { env });
    expect(valid.stderr).toBe(`${shipped}: valid\n`);
    expect(valid.stdout).toBe("");
    const bad = join(root, "bad.json");
    write(bad, {
      id: "bad",
      extends: "nope",
      provider: { baseURL: "http://public.test/v1" },
      oidc: { scopes: "x" },
    });
    const failure = await run("node", [cli, "presets", "validate", bad], { env }).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain(`file ${bad}: /provider/baseURL:`);
    expect(failure.stderr).toContain(`file ${bad}: /oidc/scopes: expected array`);
    const unknownBase = join(root, "extends.json");
    write(unknownBase, { id: "x", extends: "nope" });
    const second = await run("node", [cli, "presets", "validate", unknownBase], { env }).catch((e) => e);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`file ${unknownBase}: /extends: unknown preset "nope"`);
  });

  it("every command says what is missing and how to supply it, without a stack trace", async () => {
    for (const command of ["login", "token"]) {
      const failure = await run("node", [cli, command], { cwd: project, env }).catch((e) => e);
      expect(failure.code).toBe(1);
      expect(failure.stderr).toContain(
        'Preset "haiilo" has no OIDC issuer URL (oidc.issuer) and no OIDC client id (oidc.clientId)',
      );
      expect(failure.stderr).toContain("OKTA_ISSUER=");
      expect(failure.stderr).toContain(join(home, ".config", "opencode-oidc", "config.json"));
      expect(failure.stderr).toContain('"plugin": [["@haiilo/opencode-haiilo-ai"');
      expect(failure.stderr).not.toMatch(/\n\s+at /);
      expect(failure.stdout).toBe("");
    }
  });
});
