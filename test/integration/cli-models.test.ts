/**
 * `opencode-oidc models` (the real CLI, bundled) says a problem once: logged out with nothing to
 * show, it fails with one error naming the preset and the issuer, how to log in and the code (exit
 * 1); logged out with a static list or a cache, it shows that list (exit 0) with one warning saying
 * why and what is shown. A gateway that refuses the credential gets the code and a hint.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { ModelCache } from "../../src/store/model-cache.js";
import { ChildRun, type Exit, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";
import { quickLogin, type TempHome, tempHome } from "../support/engine-fixtures.js";
import { sandboxEnv, sandboxRuntime } from "../support/faults-fixtures.js";

let box: Sandbox;
let build: EngineBuild;
const homes: TempHome[] = [];

beforeAll(async () => {
  [box, build] = await Promise.all([startSandbox(), buildEngine()]);
});
afterAll(async () => {
  await box?.close();
  for (const home of homes) home.cleanup();
  build?.cleanup();
});

function newHome(): TempHome {
  const home = tempHome();
  homes.push(home);
  return home;
}

const env = (home: TempHome) => ({ PATH: process.env.PATH, ...sandboxEnv(box, home) });
const cli = (home: TempHome, ...args: string[]): Promise<Exit> =>
  run(process.execPath, [build.cli, ...args], { env: env(home), cwd: home.dir });
const lines = (text: string) => text.trimEnd().split("\n");
const modelRequests = () => box.gateway.requests.filter((r) => r.path.endsWith("/models")).length;

/** The one statement of "not logged in" in `models`' output: preset, issuer, no API key. */
const NOT_LOGGED_IN = () =>
  `Not logged in to Haiilo AI (preset haiilo, issuer ${box.idp.issuer}) and no API key is stored, so the gateway cannot be asked for its models.`;
const LOGIN_HINT = "Log in: `opencode-oidc login` (or in OpenCode: /connect, or `opencode auth login`).";

describe("opencode-oidc models while logged out", () => {
  it.each([[[]], [["--json"]]])(
    "nothing cached, no static list (%j): one error naming preset and issuer, how to log in, the code; exit 1",
    async (extra) => {
      const home = newHome();
      const before = modelRequests();
      const exit = await cli(home, "models", ...extra);
      expect(exit.code).toBe(1);
      expect(exit.stdout).toBe("");
      expect(lines(exit.stderr)).toEqual([`error: ${NOT_LOGGED_IN()}`, LOGIN_HINT, "(code NOT_LOGGED_IN)"]);
      expect(modelRequests()).toBe(before);
    },
  );

  it("a static list in the preset: the list on stdout, one warning with the reason and how to log in; exit 0", async () => {
    const home = newHome();
    writeFileSync(
      join(home.dir, "opencode-oidc.config.json"),
      JSON.stringify({ presets: [{ id: "haiilo", discovery: { static: [{ id: "static-model" }] } }] }),
    );
    const exit = await cli(home, "models");
    expect(exit.code, exit.stderr).toBe(0);
    // One row: the static model (the Haiilo preset's model rules add its capabilities).
    expect(lines(exit.stdout)).toEqual([expect.stringMatching(/^haiiloAi\/static-model\tstatic-model\t-\t/)]);
    expect(lines(exit.stderr)).toEqual([
      `warning: ${NOT_LOGGED_IN()} Showing the preset's static list.`,
      LOGIN_HINT,
    ]);
  });

  it("a cached list: the cached models, one warning naming when they were cached; exit 0", async () => {
    const home = newHome();
    const rt = await sandboxRuntime(box, home);
    const fetchedAt = Date.parse("2025-01-02T03:04:05.000Z");
    await new ModelCache(rt.paths.cacheDir, rt.preset.id, rt.preset.provider.baseURL).write(
      [{ id: "cached-model", context: 1000, output: 100 }],
      fetchedAt,
    );
    const exit = await cli(home, "models");
    expect(exit.code, exit.stderr).toBe(0);
    expect(lines(exit.stdout)).toEqual([
      expect.stringMatching(/^haiiloAi\/cached-model\tcached-model\t1000\/100\t/),
    ]);
    expect(lines(exit.stderr)).toEqual([
      `warning: ${NOT_LOGGED_IN()} Showing the list cached at 2025-01-02T03:04:05.000Z.`,
      LOGIN_HINT,
    ]);
  });
});

describe("opencode-oidc models with a credential", () => {
  it("logged in: the gateway's models on stdout and nothing on stderr", async () => {
    const home = newHome();
    await (await sandboxRuntime(box, home)).session().save(await quickLogin(box.idp));
    const exit = await cli(home, "models");
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toContain("haiiloAi/gpt-4o-mini\t");
    expect(exit.stderr).toBe("");
  });

  it("an API key the gateway refuses: GATEWAY_REJECTED with the URL, what to check, and the code; exit 1", async () => {
    const home = newHome();
    const store = new ChildRun(process.execPath, [build.cli, "login", "--api-key"], {
      env: env(home),
      cwd: home.dir,
    });
    store.child.stdin.end("sk-not-known-to-the-gateway\n");
    expect((await store.exited).code).toBe(0);
    const exit = await cli(home, "models");
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe("");
    expect(lines(exit.stderr)).toEqual([
      `error: The gateway refused the credentials for ${box.gateway.url}/models (HTTP 401).`,
      "The gateway does not accept the stored API key: check that the key is meant for this gateway, or store a new one.",
      "(code GATEWAY_REJECTED)",
    ]);
    expect(exit.stderr).not.toContain("sk-not-known");
  });
});
