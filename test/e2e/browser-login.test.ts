/**
 * The browser login (authorization code + PKCE, loopback redirect) as a user runs it, with a real
 * headless Chromium signing in on the sandbox IdP's pages: `opencode-oidc login --method browser`
 * (browser opened through the test launcher, callback, exit 0, token verifies), its paste fallback,
 * a denial, a port in use and Ctrl-C; then `opencode auth login -p haiiloAi -m "Okta Browser
 * Login"` in the real OpenCode binary followed by `opencode run`, and OpenCode's paste fallback.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { ChildRun, run } from "../support/child-processes.js";
import {
  browserHook,
  type Chromium,
  chromiumAvailable,
  launcherEnv,
  startChromium,
} from "../support/chromium.js";
import { report } from "../support/measure.js";
import { holdPort, portIsFree } from "../support/ports.js";
import { type OpencodeHome, runOpencode, startOpencode, stripAnsi } from "./support/opencode.js";
import { CLI, pluginHome } from "./support/plugin-home.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const HAIILO_PORTS = [18400, 18401, 18402];
const ENABLE_BROWSER = { presets: [{ id: "haiilo", auth: { browser: { enabled: true } } }] };
const enabled = chromiumAvailable();

let box: Sandbox;
let chromium: Chromium;
let hook: Awaited<ReturnType<typeof browserHook>>;
const homes: OpencodeHome[] = [];

beforeAll(async () => {
  if (!enabled) return;
  [box, chromium, hook] = await Promise.all([startSandbox(), startChromium(), browserHook()]);
});
afterAll(async () => {
  await chromium?.close();
  await hook?.close();
  await box?.close();
  await Promise.all(homes.map((h) => h.cleanup()));
});

/** A fresh home whose global opencode-oidc config turns the Haiilo preset's browser login on. */
async function home(env: Record<string, string | undefined> = {}): Promise<OpencodeHome> {
  const h = await pluginHome(box, { env: { ...launcherEnv(hook.url), ...env } as Record<string, string> });
  homes.push(h);
  const dir = join(h.env.XDG_CONFIG_HOME as string, "opencode-oidc");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(ENABLE_BROWSER));
  return h;
}

/** The CLI with the browser allowed (the harness turns it off by default). */
const cliEnv = (h: OpencodeHome, extra: Record<string, string> = {}) => {
  const env: NodeJS.ProcessEnv = { ...h.env, ...extra };
  delete env.OPENCODE_OIDC_NO_BROWSER;
  return env;
};
const startCli = (h: OpencodeHome, args: string[], extra: Record<string, string> = {}) =>
  new ChildRun(process.execPath, [CLI, ...args], { env: cliEnv(h, extra), cwd: h.projectDir });

async function verified(token: string) {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(box.idp.jwksUri)), {
    issuer: box.idp.issuer,
    audience: box.idp.audience,
  });
  return payload;
}

describe.skipIf(!enabled)("opencode-oidc login --method browser, with a real Chromium", () => {
  it("the browser opens, signs in, lands on the callback; the CLI exits 0 and the token verifies", async () => {
    const h = await home();
    const login = startCli(h, ["login", "--method", "browser"]);
    const url = await hook.next();
    await login.waitFor(new RegExp(url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))); // printed too, not only opened
    const started = performance.now();
    const landed = await chromium.signIn(url);
    expect(landed.landedOn).toMatch(/^http:\/\/127\.0\.0\.1:1840[0-2]\/callback\?code=/);
    expect(landed.outcome).toBe("success");
    expect(landed.text).toContain("Logged in to Haiilo AI");
    expect(landed.text).toContain("go back to the terminal");
    const exit = await login.exited;
    report(
      "CLI browser login: ms from sign-in start to the CLI's exit",
      Math.round(performance.now() - started),
    );
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toMatch(/Logged in to Haiilo AI as alice@example\.com/);
    expect(await portIsFree(Number(new URL(landed.landedOn).port))).toBe(true);

    const token = await run(process.execPath, [CLI, "token"], { env: cliEnv(h), cwd: h.projectDir });
    expect(token.code, token.stderr).toBe(0);
    expect(await verified(token.stdout.trim())).toMatchObject({ sub: "alice", client_id: box.idp.clientId });
  });

  it("paste fallback: the browser cannot reach this machine; the address it ended on, pasted on stdin, logs in", async () => {
    const h = await home();
    const login = startCli(h, ["login", "--method", "browser", "--no-browser"]);
    const [, url] = await login.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m);
    const landed = await chromium.signIn(url as string, { unreachable: /^http:\/\/127\.0\.0\.1:1840\d\// });
    expect(landed.outcome).toBeUndefined(); // the page did not load: as on a remote machine
    login.child.stdin.write("not the address\n");
    await login.waitFor(/neither the redirected URL nor a code/);
    login.child.stdin.write(`${landed.landedOn}\n`);
    const exit = await login.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toMatch(/Logged in to Haiilo AI as alice/);
  });

  it("the user cancels at the IdP: exit 1 with BROWSER_LOGIN_DENIED, the browser is told to go back", async () => {
    const h = await home();
    const login = startCli(h, ["login", "--method", "browser"]);
    const landed = await chromium.signIn(await hook.next(), { deny: true });
    expect(landed.outcome).toBe("failure");
    expect(landed.text).toContain("The browser login was denied");
    const exit = await login.exited;
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain("(code BROWSER_LOGIN_DENIED)");
    expect(await portIsFree(Number(new URL(landed.landedOn).port))).toBe(true);
  });

  it("every redirect port in use: exit 1 with LOOPBACK_PORT_IN_USE naming them, before anything is opened", async () => {
    const held = await Promise.all(HAIILO_PORTS.map((p) => holdPort(p)));
    try {
      const h = await home();
      const exit = await startCli(h, ["login", "--method", "browser"]).exited;
      expect(exit.code).toBe(1);
      expect(exit.stderr).toContain("(code LOOPBACK_PORT_IN_USE)");
      expect(exit.stderr).toContain("18400, 18401, 18402");
    } finally {
      await Promise.all(held.map((p) => p.close()));
    }
  });

  it("Ctrl-C while waiting: exit 1 with ABORTED and the port is free", async () => {
    const h = await home();
    const login = startCli(h, ["login", "--method", "browser", "--no-browser"]);
    const [, port] = await login.waitFor(/returns to http:\/\/127\.0\.0\.1:(\d+)\/callback/);
    expect(await portIsFree(Number(port))).toBe(false);
    login.child.kill("SIGINT");
    const exit = await login.exited;
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain("(code ABORTED)");
    expect(await portIsFree(Number(port))).toBe(true);
  });
});

describe.skipIf(!enabled)(
  'opencode auth login -p haiiloAi -m "Okta Browser Login" in the real OpenCode',
  () => {
    it("the browser signs in and returns to OpenCode; then `opencode run` sends a valid Bearer token", async () => {
      const h = await home({ OPENCODE_OIDC_NO_BROWSER: undefined });
      const login = startOpencode(["auth", "login", "-p", "haiiloAi", "-m", "Okta Browser Login"], {
        home: h,
        env: { OPENCODE_OIDC_NO_BROWSER: undefined },
        timeoutMs: 90_000,
      });
      const url = await hook.next();
      const landed = await chromium.signIn(url);
      expect(landed.outcome).toBe("success");
      expect(landed.text).toContain("go back to OpenCode");
      const exit = await login.exited;
      expect(exit.code, stripAnsi(exit.stdout + exit.stderr)).toBe(0);
      expect(stripAnsi(exit.stdout)).toContain(`Go to: ${url}`);
      expect(stripAnsi(exit.stdout)).toContain("Login successful");

      const before = box.gateway.requests.length;
      const chat = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home: h });
      expect(chat.code, stripAnsi(chat.stdout + chat.stderr)).toBe(0);
      const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
      expect(chats.length).toBeGreaterThanOrEqual(1);
      for (const c of chats)
        expect(c).toMatchObject({ auth: "bearer", allowed: true, sub: "alice", client: box.idp.clientId });
    });

    it("without a browser (OPENCODE_OIDC_NO_BROWSER=1) it asks for the address the browser ended on, and that logs in", async () => {
      const h = await home({ OPENCODE_OIDC_NO_BROWSER: "1" });
      const login = startOpencode(["auth", "login", "-p", "haiiloAi", "-m", "Okta Browser Login"], {
        home: h,
        keepStdin: true,
        timeoutMs: 90_000,
      });
      const [, url] = await login.waitFor(/Go to: (\S+)/, { timeoutMs: 45_000 });
      const landed = await chromium.signIn(stripAnsi(url ?? ""), {
        unreachable: /^http:\/\/127\.0\.0\.1:1840\d\//,
      });
      expect(landed.landedOn).toMatch(/\/callback\?code=/);
      login.write(`${landed.landedOn}\r`);
      const exit = await login.exited;
      expect(exit.code, stripAnsi(exit.stdout + exit.stderr)).toBe(0);
      expect(stripAnsi(exit.stdout)).toContain("Login successful");
      const before = box.gateway.requests.length;
      const chat = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home: h });
      expect(chat.code).toBe(0);
      const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
      expect(chats.every((c) => c.auth === "bearer" && c.allowed && c.sub === "alice")).toBe(true);
      expect(chats.length).toBeGreaterThanOrEqual(1);
    });
  },
);
