import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { approveDevice } from "../../src/sandbox/approve.js";
import { tempHome } from "../support/engine-fixtures.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../dist/cli.js");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Collects a child's stderr; `waitFor` resolves with the first match in everything seen so far or later. */
function stderrOf(child: ChildProcess) {
  let text = "";
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  child.stderr?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of [...waiters]) {
      const match = waiter.re.exec(text);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  });
  return {
    waitFor(re: RegExp): Promise<RegExpMatchArray> {
      const match = re.exec(text);
      if (match) return Promise.resolve(match);
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        child.once("exit", (code) => reject(new Error(`exited (${code}) before ${re}: ${text}`)));
      });
    },
  };
}

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
  });
});

describe("opencode-oidc sandbox", () => {
  it("serves a real IdP and a JWT-checking gateway until interrupted, usable by the CLI", async () => {
    const home = tempHome();
    try {
      const sandbox = spawn("node", [CLI, "sandbox"], {
        env: { PATH: process.env.PATH },
        stdio: ["ignore", "ignore", "pipe"],
      });
      children.push(sandbox);
      const sandboxErr = stderrOf(sandbox);
      await sandboxErr.waitFor(/Press Ctrl-C to stop\./);
      const exports = await sandboxErr.waitFor(
        /export OKTA_ISSUER=(\S+)\n\s+export OKTA_CLIENT_ID=(\S+)\n\s+export OKTA_AUDIENCE=(\S+)\n\s+export HAIILO_AI_BASE_URL=(\S+)/,
      );
      const env = {
        PATH: process.env.PATH,
        ...home.env,
        OKTA_ISSUER: exports[1],
        OKTA_CLIENT_ID: exports[2],
        HAIILO_AI_BASE_URL: exports[4],
      } as NodeJS.ProcessEnv;

      const login = spawn("node", [CLI, "login", "--no-browser"], {
        env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      children.push(login);
      const [url] = await stderrOf(login).waitFor(/http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+/);
      await approveDevice(url);
      expect((await once(login, "exit"))[0]).toBe(0);
      const decision = sandboxErr.waitFor(/GET \/v1\/models auth=bearer allow sub=alice/);
      const { stdout } = await run("node", [CLI, "models"], { env });
      expect(stdout).toContain("haiiloAi/gpt-4o-mini");
      await decision; // the sandbox logged the gateway's auth decision

      sandbox.kill("SIGINT");
      expect((await once(sandbox, "exit"))[0]).toBe(0);
    } finally {
      home.cleanup();
    }
  });
});
