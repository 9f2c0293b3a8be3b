/**
 * One-command onboarding on the real OpenCode binary: a HOME whose opencode.json has no plugin line,
 * `opencode auth login <gateway>` with stdin closed, the gateway's /.well-known/opencode (printed by
 * `opencode-oidc well-known`) installs the plugin with the preset and runs this package's login; then
 * models, a chat, a chat after the access token's lifetime (the plugin's refresh), and logout.
 * The run's transcript goes to test-results/transcripts/ (a recorded run is docs/transcripts/).
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 240_000, hookTimeout: 60_000 });

import { approveDevice } from "../../src/sandbox/approve.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import {
  makeHome,
  type OpencodeHome,
  runOpencode,
  startOpencode,
  stripAnsi,
  writeConfig,
} from "./support/opencode.js";
import { CLI, PLUGIN_FILE, REPO } from "./support/plugin-home.js";

const execFileAsync = promisify(execFile);
const TRANSCRIPT = join(REPO, "test-results/transcripts/well-known-onboarding.txt");
/** Short-lived access tokens, so the test can outlive one. */
const ACCESS_TOKEN_TTL_S = 20;

let box: Sandbox;
let home: OpencodeHome;
const transcript: string[] = [];
const note = (command: string, output: string) => {
  transcript.push(`$ ${command}`, stripAnsi(output).trimEnd(), "");
};

const tokenStore = () => join(home.env.XDG_CONFIG_HOME as string, "opencode-auth", "tokens.json");
const session = async () => {
  const store = JSON.parse(await readFile(tokenStore(), "utf8"));
  return Object.values(store.sessions)[0] as { accessToken: string; expiresAt: number };
};

beforeAll(async () => {
  box = await startSandbox({ idp: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S } });
  home = await makeHome({ prefix: "oc-wellknown-", env: { OPENCODE_OIDC_NO_BROWSER: "1" } });
});
afterAll(async () => {
  if (transcript.length > 0) {
    await mkdir(join(REPO, "test-results/transcripts"), { recursive: true });
    await writeFile(TRANSCRIPT, `${transcript.join("\n")}\n`);
  }
  await box?.close();
  await home?.cleanup();
});

describe("opencode auth login <gateway> onboards a machine with no plugin line", () => {
  it("login through the document, models, chat, chat after the token's lifetime, logout", async () => {
    // The platform team's side: the document for the Haiilo preset pointed at this gateway.
    const printed = await execFileAsync(
      process.execPath,
      [CLI, "well-known", "--plugin", PLUGIN_FILE, "--json"],
      {
        env: { PATH: process.env.PATH, HOME: home.dir, XDG_CONFIG_HOME: join(home.dir, "team"), ...box.env },
      },
    );
    const doc = JSON.parse(printed.stdout);
    // The published document runs `npx --package=@haiilo/opencode-haiilo-ai@<version> -- opencode-oidc`;
    // the release is not on the registry here, so this build's CLI stands in for that launcher only.
    const launcher = doc.auth.command.indexOf("opencode-oidc");
    expect(doc.auth.command.slice(0, launcher)).toEqual([
      "npx",
      "--yes",
      expect.stringMatching(/^--package=@haiilo\/opencode-haiilo-ai@\d+\.\d+\.\d+/),
      "--",
    ]);
    doc.auth.command = [process.execPath, CLI, ...doc.auth.command.slice(launcher + 1)];
    box.gateway.setWellKnown(doc);
    transcript.push(`# /.well-known/opencode served by the sandbox gateway at ${box.gateway.origin}`);
    transcript.push(JSON.stringify(doc, null, 2), "");

    // The employee's side: no plugin line, no environment pointing at the sandbox.
    await writeConfig(home, {});
    const config = JSON.parse(await readFile(join(home.configDir, "opencode.json"), "utf8"));
    expect(config.plugin).toBeUndefined();
    expect(Object.keys(home.env).filter((k) => k.startsWith("OKTA_") || k === "HAIILO_AI_BASE_URL")).toEqual(
      [],
    );

    const login = startOpencode(["auth", "login", box.gateway.origin], { home, timeoutMs: 120_000 });
    const [, url] = await login.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+)/, {
      stream: "stderr",
      timeoutMs: 90_000,
    });
    const [, code] = await login.waitFor(/confirm the code:\s+(\S+)/, { stream: "stderr" });
    await approveDevice(url as string);
    const loggedIn = await login.exited;
    note(
      `opencode auth login ${box.gateway.origin}   (stdin closed)`,
      `${loggedIn.stdout}\n${loggedIn.stderr}`,
    );
    expect(loggedIn.code).toBe(0);
    expect(url).toContain(code as string);
    expect(stripAnsi(loggedIn.stdout + loggedIn.stderr)).toContain(`Logged into ${box.gateway.origin}`);
    const auth = JSON.parse(await readFile(home.authFile, "utf8"));
    expect(auth[box.gateway.origin]).toEqual({
      type: "wellknown",
      key: "OPENCODE_OIDC_WELL_KNOWN",
      token: "stored-by-opencode-oidc",
    });
    expect(auth.haiiloAi).toMatchObject({ type: "oauth", access: "stored-by-opencode-oidc" });
    const first = await session();
    expect(JSON.stringify(auth)).not.toContain(first.accessToken);
    expect(loggedIn.stdout + loggedIn.stderr).not.toContain(first.accessToken);

    const models = await runOpencode(["models", "haiiloAi"], { home });
    note("opencode models haiiloAi", models.stdout + models.stderr);
    expect(models.code).toBe(0);
    expect(stripAnsi(models.stdout).split("\n").filter(Boolean).sort()).toEqual([
      "haiiloAi/claude-sonnet-4",
      "haiiloAi/gpt-4o-mini",
      "haiiloAi/llama-3.1-70b",
    ]);

    const chat = async (label: string) => {
      const before = box.gateway.requests.length;
      const run = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home });
      note(`opencode run -m haiiloAi/gpt-4o-mini hi   ${label}`, run.stdout + run.stderr);
      expect(run.code).toBe(0);
      expect(stripAnsi(run.stdout)).toContain("Hello from gpt-4o-mini");
      const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
      expect(chats.length).toBeGreaterThan(0);
      for (const c of chats)
        expect(c).toMatchObject({ auth: "bearer", allowed: true, status: 200, sub: "alice" });
      transcript.push(
        `# gateway: ${chats.map((c) => `${c.path} auth=${c.auth} allowed=${c.allowed} sub=${c.sub}`).join("; ")}`,
        "",
      );
    };
    await chat("(right after login)");

    // Past the first access token's lifetime: only the plugin's refresh can keep this working.
    const refreshes = box.idp.counts.refreshGrant;
    const deadline = Date.now() + (ACCESS_TOKEN_TTL_S + 30) * 1000;
    while (Date.now() <= first.expiresAt + 1000) {
      expect(Date.now(), "the access token never expired").toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 250));
    }
    transcript.push(`# the first access token expired at ${new Date(first.expiresAt).toISOString()}`, "");
    await chat("(after the first access token expired)");
    expect(box.idp.counts.refreshGrant).toBeGreaterThan(refreshes);
    expect((await session()).accessToken).not.toBe(first.accessToken);

    const logout = await runOpencode(["auth", "logout", box.gateway.origin], { home });
    note(`opencode auth logout ${box.gateway.origin}`, logout.stdout + logout.stderr);
    expect(logout.code).toBe(0);
    const after = JSON.parse(await readFile(home.authFile, "utf8"));
    expect(after[box.gateway.origin]).toBeUndefined();
    // Without the entry OpenCode no longer fetches the document, so the plugin is gone too.
    const fetchesBefore = box.gateway.requests.filter((r) => r.path === "/.well-known/opencode").length;
    const gone = await runOpencode(["models", "haiiloAi"], { home });
    note("opencode models haiiloAi   (after logout)", gone.stdout + gone.stderr);
    expect(stripAnsi(gone.stdout)).not.toContain("haiiloAi/gpt-4o-mini");
    expect(box.gateway.requests.filter((r) => r.path === "/.well-known/opencode").length).toBe(fetchesBefore);
  });
});
