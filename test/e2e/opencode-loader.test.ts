/**
 * What the plugin's module shape relies on, checked on the real OpenCode binary with small probe
 * packages (see support/FINDINGS.md, "Q8"): a module whose exports are plugin functions (or
 * `{server}` objects) gets one set of hooks per export, so one package can carry one `auth` hook per
 * provider id; a module whose default export is a PluginModule (`{id, server}`) gets only that one.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { makeHome, type OpencodeHome, runOpencode, stripAnsi, writeConfig } from "./support/opencode.js";

vi.setConfig({ testTimeout: 120_000 });

const homes: OpencodeHome[] = [];
afterAll(async () => {
  await Promise.all(homes.map((h) => h.cleanup()));
});

/** Source of one probe plugin: a provider with one model and an auth hook with two methods. */
function probe(provider: string, label: string): string {
  return `async () => ({
    config(cfg) {
      cfg.provider ??= {};
      cfg.provider[${JSON.stringify(provider)}] = { npm: "@ai-sdk/openai-compatible", name: ${JSON.stringify(label)},
        options: { baseURL: "http://127.0.0.1:9/v1" }, models: { m1: { name: "M1" } } };
    },
    auth: { provider: ${JSON.stringify(provider)}, methods: [
      { type: "oauth", label: ${JSON.stringify(`${label} Device`)}, async authorize() { throw new Error("probe"); } },
      { type: "api", label: ${JSON.stringify(`${label} Key`)} },
    ] },
  })`;
}

async function probePackage(h: OpencodeHome, name: string, source: string): Promise<string> {
  const dir = join(h.dir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "index.js"), source);
  await writeFile(
    join(dir, "package.json"),
    JSON.stringify({ name, version: "1.0.0", type: "module", main: "index.js" }),
  );
  return `file://${dir}`;
}

/** The methods `opencode auth login` knows for a provider, from its "Unknown method" answer. */
async function methodsOf(h: OpencodeHome, provider: string): Promise<string> {
  const result = await runOpencode(["auth", "login", "-p", provider, "-m", "Nope"], { home: h });
  const text = stripAnsi(result.stderr);
  return /Available: (.*)/.exec(text)?.[1]?.trim() ?? /Error: (.*)/.exec(text)?.[1]?.trim() ?? text;
}

describe("OpenCode 1.18.33's plugin loader", () => {
  it("calls every export of a module without a PluginModule default: one auth hook per provider", async () => {
    const h = await makeHome({ prefix: "oc-loader-" });
    homes.push(h);
    const spec = await probePackage(
      h,
      "probe-named",
      `export const alpha = ${probe("alphaAi", "Alpha")};\nexport const beta = { server: ${probe("betaAi", "Beta")} };\n`,
    );
    await writeConfig(h, { plugin: [spec] });
    expect(await methodsOf(h, "alphaAi")).toBe("Alpha Device, Alpha Key");
    expect(await methodsOf(h, "betaAi")).toBe("Beta Device, Beta Key");
  });

  it("calls only the server of a PluginModule default export, ignoring the other exports", async () => {
    const h = await makeHome({ prefix: "oc-loader-" });
    homes.push(h);
    const spec = await probePackage(
      h,
      "probe-module",
      `export default { id: "probe", server: ${probe("alphaAi", "Alpha")} };\nexport const beta = ${probe("betaAi", "Beta")};\n`,
    );
    await writeConfig(h, { plugin: [spec] });
    expect(await methodsOf(h, "alphaAi")).toBe("Alpha Device, Alpha Key");
    expect(await methodsOf(h, "betaAi")).toBe('Unknown provider "betaAi"');
  });
});
