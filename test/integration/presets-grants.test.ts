/**
 * The preset fields of the login grants: the Haiilo preset's browser login (present, off, device
 * flow first), a config file that turns it on by naming only that field, `presets show` printing
 * it, and schema errors for bad ports and machine env targets.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolvePresets } from "../../src/presets/resolve.js";
import { checkConfigDocument } from "../../src/presets/validate.js";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "../../dist/cli.js");

let root: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "presets-grants-"));
  env = { PATH: process.env.PATH, HOME: root, XDG_CONFIG_HOME: join(root, ".config") };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("browser login and machine identity preset fields", () => {
  it("the Haiilo preset keeps the device flow first; its browser login is there, labelled, and off", async () => {
    const haiilo = (await resolvePresets({ cwd: root, env })).presets.get("haiilo")?.preset;
    expect(Object.keys(haiilo?.auth ?? {})[0]).toBe("deviceFlow");
    expect(haiilo?.auth.deviceFlow).toEqual({ enabled: true, label: "Okta Device Flow", pkce: false });
    expect(haiilo?.auth.browser).toEqual({
      enabled: false,
      label: "Okta Browser Login",
      ports: [18400, 18401, 18402],
      path: "/callback",
    });
    expect(haiilo?.auth.machine).toEqual({ enabled: true, clientSecretMethod: "client_secret_basic" });
  });

  it('a config file with {"presets":[{"id":"haiilo","auth":{"browser":{"enabled":true}}}]} turns it on and changes nothing else', async () => {
    const project = join(root, "work");
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, "opencode-oidc.config.json"),
      JSON.stringify({ presets: [{ id: "haiilo", auth: { browser: { enabled: true } } }] }),
    );
    const before = (await resolvePresets({ cwd: root, env })).presets.get("haiilo")?.preset;
    const after = (await resolvePresets({ cwd: project, env })).presets.get("haiilo");
    expect(after?.preset.auth.browser).toEqual({ ...before?.auth.browser, enabled: true });
    expect({ ...after?.preset, auth: { ...after?.preset.auth, browser: before?.auth.browser } }).toEqual(
      before,
    );
    expect(
      Object.keys(after?.origins ?? {}).filter((p) => after?.origins[p]?.source.startsWith("file")),
    ).toEqual(["/auth/browser/enabled"]);

    // The real CLI shows it, with its origin.
    const { stdout } = await run("node", [cli, "presets", "show", "--json"], { cwd: project, env });
    const shown = JSON.parse(stdout);
    expect(shown.preset.auth.browser).toMatchObject({ enabled: true, label: "Okta Browser Login" });
    expect(shown.origins["/auth/browser/enabled"].source).toMatch(/^file .*opencode-oidc\.config\.json$/);
  });

  it("bad ports, a bad path and an unknown machine target are schema errors with their place", async () => {
    const issues = await checkConfigDocument(
      {
        presets: [
          {
            id: "haiilo",
            auth: { browser: { ports: [80, 18400, 18400], path: "callback" } },
            env: { ACME_SECRET: "/machine/password" },
          },
        ],
      },
      "test",
    );
    const pointers = issues.map((i) => i.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining([
        "/presets/0/auth/browser/ports/0",
        "/presets/0/auth/browser/ports",
        "/presets/0/auth/browser/path",
        "/presets/0/env/ACME_SECRET",
      ]),
    );
  });

  it("machine targets in the env map never write a secret into the resolved preset", async () => {
    // The global config file: a working folder may not change a preset's env map (the trust model).
    const project = join(root, "ci");
    mkdirSync(join(root, ".config", "opencode-oidc"), { recursive: true });
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(root, ".config", "opencode-oidc", "config.json"),
      JSON.stringify({
        presets: [
          { id: "haiilo", env: { ACME_CI_SECRET: "/machine/clientSecret", OKTA_ISSUER: "/oidc/issuer" } },
        ],
      }),
    );
    const resolution = await resolvePresets({
      cwd: project,
      env: {
        ...env,
        ACME_CI_SECRET: "super-secret-value",
        OKTA_ISSUER: "https://acme.okta.com/oauth2/default",
      },
    });
    expect(resolution.issues).toEqual([]);
    const resolved = resolution.presets.get("haiilo");
    expect(resolved?.preset.oidc.issuer).toBe("https://acme.okta.com/oauth2/default");
    expect(JSON.stringify(resolved)).not.toContain("super-secret-value");
  });
});
