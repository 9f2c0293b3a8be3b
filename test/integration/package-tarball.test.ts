/**
 * The package as users get it: `npm pack`, installed into an empty project from the tarball (its
 * dependencies from the registry), then `npx opencode-oidc`. The sandbox's servers are optional peer
 * dependencies: without them `npx opencode-oidc sandbox` prints the one command that adds them, and
 * after that command it starts.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { run } from "../support/child-processes.js";

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });
const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let dir: string;
let project: string;
let tarball: string;
const env = () => ({
  PATH: process.env.PATH,
  HOME: dir,
  XDG_CONFIG_HOME: join(dir, "config"),
  NO_COLOR: "1",
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "opencode-oidc-tarball-"));
  project = join(dir, "project");
  const { stdout } = await execFileAsync("npm", ["pack", "--silent", "--pack-destination", dir], {
    cwd: ROOT,
  });
  tarball = join(dir, stdout.trim().split("\n").at(-1) as string);
  await execFileAsync("mkdir", ["-p", project]);
  await writeFile(join(project, "package.json"), '{ "name": "consumer", "private": true }\n');
  await execFileAsync("npm", ["install", "--no-audit", "--no-fund", tarball], {
    cwd: project,
    env: {
      ...process.env,
      npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? dir, ".npm"),
    },
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the installed tarball", () => {
  it("declares the sandbox's packages as optional peers and ships no vendored CRD YAML", async () => {
    const pkg = JSON.parse(
      await readFile(join(project, "node_modules/@haiilo/opencode-haiilo-ai/package.json"), "utf8"),
    );
    expect(pkg.peerDependenciesMeta).toEqual({
      jose: { optional: true },
      "oidc-provider": { optional: true },
    });
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["jose", "oidc-provider"]);
    const { stdout } = await execFileAsync("tar", ["-tzf", tarball]);
    expect(stdout).not.toContain("crds/");
    expect(stdout).toContain("package/dist/cli.js");
  });

  it("npx opencode-oidc sandbox: without the peers, the one command that adds them; with them, it runs", async () => {
    const missing = await run("npx", ["--no-install", "opencode-oidc", "sandbox"], {
      env: env(),
      cwd: project,
    });
    expect(missing.code).toBe(2);
    const command = /^\s+(npm install --no-save oidc-provider@9 jose@6)$/m.exec(missing.stderr)?.[1];
    expect(command, missing.stderr).toBeDefined();

    await execFileAsync("sh", ["-c", command as string], { cwd: project });
    // npx runs the bin in a child of its own: start it as a process group, to stop both.
    const sandbox = spawn("npx", ["--no-install", "opencode-oidc", "sandbox", "--quiet"], {
      env: env(),
      cwd: project,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = once(sandbox, "close");
    try {
      let stderr = "";
      const gateway = await new Promise<string>((resolve, reject) => {
        sandbox.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          stderr += chunk;
          const match = /Sandbox running\.[\s\S]*Gateway\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(stderr);
          if (match) resolve(match[1] as string);
        });
        sandbox.once("close", (code) =>
          reject(new Error(`sandbox exited (${code}) before it ran:\n${stderr}`)),
        );
      });
      const response = await fetch(`${gateway}/models`);
      expect(response.status).toBe(401);
    } finally {
      if (sandbox.pid) process.kill(-sandbox.pid, "SIGTERM");
      await exited;
    }
  });
});
