import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { approveDevice } from "../../src/sandbox/approve.js";
import { ChildRun } from "../support/child-processes.js";
import { tempHome } from "../support/engine-fixtures.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../dist/cli.js");
const children: ChildRun[] = [];
const start = (args: string[], env: NodeJS.ProcessEnv, cwd: string) => {
  const child = new ChildRun(process.execPath, [CLI, ...args], { env, cwd });
  children.push(child);
  return child;
};
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

describe("opencode-oidc demo", () => {
  it("runs the whole job on the sandbox and exits cleanly", async () => {
    const { stderr } = await run("node", [CLI, "demo", "--auto-approve"], {
      env: { PATH: process.env.PATH },
      timeout: 60_000,
    });
    expect(stderr).toMatch(
      /open this URL in a browser:\s+http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[A-Z]{4}-[A-Z]{4}/,
    );
    expect(stderr).toMatch(/tokens\.json \(mode 600, folder mode 700\)/);
    expect(stderr).toMatch(/haiiloAi\/claude-sonnet-4\s+"claude-sonnet-4"\s+context 200000, output 64000/);
    expect(stderr).toMatch(/HTTP 200: "Hello from gpt-4o-mini"\n\s+gateway: .*auth=bearer allow sub=alice/);
    expect(stderr).toMatch(/HTTP 200: "Hello from gpt-4o-mini"\n\s+gateway: .*auth=api-key allow/);
    expect(stderr).toContain("Tokens revoked at the IdP and deleted");
    expect(stderr).toContain("Demo complete.");
    expect(stderr).not.toContain("oidc-provider WARNING");
  });
});

describe("opencode-oidc sandbox", () => {
  it("serves a real IdP and a JWT-checking gateway until interrupted, usable by the CLI", async () => {
    const home = tempHome();
    try {
      const sandbox = start(["sandbox"], { PATH: process.env.PATH }, home.dir);
      await sandbox.waitFor(/Press Ctrl-C to stop\./);
      const exports = await sandbox.waitFor(
        /export OKTA_ISSUER=(\S+)\n\s+export OKTA_CLIENT_ID=(\S+)\n\s+export OKTA_AUDIENCE=(\S+)\n\s+export HAIILO_AI_BASE_URL=(\S+)/,
      );
      const env = {
        PATH: process.env.PATH,
        ...home.env,
        OKTA_ISSUER: exports[1],
        OKTA_CLIENT_ID: exports[2],
        HAIILO_AI_BASE_URL: exports[4],
      } as NodeJS.ProcessEnv;

      const login = start(["login", "--no-browser"], env, home.dir);
      const [url] = await login.waitFor(/http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+/);
      await approveDevice(url);
      expect((await login.exited).code).toBe(0);
      const { stdout } = await run("node", [CLI, "models"], { env });
      expect(stdout).toContain("haiiloAi/gpt-4o-mini");
      await sandbox.waitFor(/GET \/v1\/models auth=bearer allow sub=alice/); // the gateway's auth decision, logged

      sandbox.child.kill("SIGINT");
      expect((await sandbox.exited).code).toBe(0);
    } finally {
      home.cleanup();
    }
  });
});
