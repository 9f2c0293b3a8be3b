/**
 * A real, private Secret Service for keyring tests: a D-Bus session bus of its own (a socket in a temp
 * folder) and gnome-keyring-daemon serving `org.freedesktop.secrets` on it, unlocked with a throwaway
 * password. Nothing of the machine's own session or keyring is touched. Debian packages: dbus,
 * gnome-keyring, libsecret-tools (installed by .ci/run). Recipe as seen working in OpenCode's Bun:
 * dbus-daemon --session --nofork --address=unix:path=$DIR/bus, then with that bus
 * `printf PASSWORD | gnome-keyring-daemon --foreground --unlock --components=secrets`.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
const TOOLS = ["dbus-daemon", "dbus-send", "gnome-keyring-daemon", "secret-tool"] as const;

export interface SecretService {
  /** Give this to a child process (merged over its environment) to use this keyring. */
  env: { DBUS_SESSION_BUS_ADDRESS: string };
  /** Where the daemon keeps its (encrypted) keyring files. */
  dataDir: string;
  /** `secret-tool lookup service <service> username <account>`: the secret, or undefined. */
  lookup(service: string, account: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** Which of the tools is missing, if any. */
export function missingSecretServiceTools(): string[] {
  return TOOLS.filter((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * Whether keyring tests can run here; when not, says so loudly (they must never pass silently).
 * Call at module level and use with `it.runIf`.
 */
export function secretServiceAvailable(what: string): boolean {
  const missing = missingSecretServiceTools();
  if (missing.length === 0) return true;
  console.warn(
    `SKIPPED ${what}: no Secret Service can be started here (missing ${missing.join(", ")}; install the Debian packages dbus, gnome-keyring and libsecret-tools, as .ci/run does).`,
  );
  return false;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`the private Secret Service did not start: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startSecretService(): Promise<SecretService> {
  const dir = mkdtempSync(join(tmpdir(), "secret-service-"));
  const dataDir = join(dir, "data");
  const runtimeDir = join(dir, "run");
  mkdirSync(dataDir, { mode: 0o700 });
  mkdirSync(runtimeDir, { mode: 0o700 });
  const address = `unix:path=${join(dir, "bus")}`;
  // The daemons see only this temp folder as home: an activated helper cannot reach the real one.
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_DATA_HOME: dataDir,
    XDG_RUNTIME_DIR: runtimeDir,
    XDG_CONFIG_HOME: join(dir, "config"),
    XDG_CACHE_HOME: join(dir, "cache"),
    DBUS_SESSION_BUS_ADDRESS: address,
  };
  const children: ChildProcess[] = [];
  const stderr: string[] = [];
  const start = (command: string, args: string[]) => {
    const child = spawn(command, args, { env, stdio: ["pipe", "ignore", "pipe"] });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    children.push(child);
    return child;
  };
  const lookup = async (service: string, account: string) => {
    try {
      const { stdout } = await execFileAsync(
        "secret-tool",
        ["lookup", "service", service, "username", account],
        {
          env,
        },
      );
      return stdout;
    } catch {
      return undefined;
    }
  };
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 2000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const bus = start("dbus-daemon", ["--session", "--nofork", `--address=${address}`]);
    await waitUntil(`dbus-daemon (${stderr.join("")})`, async () => {
      if (bus.exitCode !== null) throw new Error(`dbus-daemon exited: ${stderr.join("")}`);
      try {
        await execFileAsync(
          "dbus-send",
          ["--session", "--dest=org.freedesktop.DBus", "/", "org.freedesktop.DBus.Peer.Ping"],
          {
            env,
          },
        );
        return true;
      } catch {
        return false;
      }
    });
    const keyring = start("gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"]);
    keyring.stdin?.end("throwaway-test-password");
    // It answers once a secret can be stored and read back.
    await waitUntil(`gnome-keyring-daemon (${stderr.join("")})`, async () => {
      if (keyring.exitCode !== null) throw new Error(`gnome-keyring-daemon exited: ${stderr.join("")}`);
      try {
        const store = spawn(
          "secret-tool",
          ["store", "--label=probe", "service", "secret-service-probe", "username", "probe"],
          {
            env,
            stdio: ["pipe", "ignore", "ignore"],
          },
        );
        store.stdin.end("ok");
        const code = await new Promise((resolve) => store.once("exit", resolve));
        return code === 0 && (await lookup("secret-service-probe", "probe")) === "ok";
      } catch {
        return false;
      }
    });
    await execFileAsync("secret-tool", ["clear", "service", "secret-service-probe", "username", "probe"], {
      env,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { env: { DBUS_SESSION_BUS_ADDRESS: address }, dataDir, lookup, stop };
}
