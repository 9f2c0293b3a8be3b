import { spawn } from "node:child_process";
import { urlProblem } from "../core/loopback.js";

/**
 * A command that opens URLs instead of the system browser: `OPENCODE_OIDC_BROWSER="firefox
 * --new-window"`, or a script in tests. Split on whitespace, run without a shell, the URL appended
 * as the last argument.
 */
export const BROWSER_COMMAND_VARIABLE = "OPENCODE_OIDC_BROWSER";

function launcher(env: NodeJS.ProcessEnv): string[] | undefined {
  const words = env[BROWSER_COMMAND_VARIABLE]?.trim().split(/\s+/).filter(Boolean);
  return words && words.length > 0 ? words : undefined;
}

/**
 * Whether a browser can be opened here: a configured launcher, or a desktop session (not CI, a
 * display on Linux) without `OPENCODE_OIDC_NO_BROWSER=1`.
 */
export function canOpenBrowser(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OPENCODE_OIDC_NO_BROWSER === "1") return false;
  if (launcher(env)) return true;
  if (env.CI) return false;
  return process.platform !== "linux" || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/**
 * Opens a URL in the user's browser when there is one. Never throws and never waits for the
 * browser: the URL and code are always printed too, so a headless login still works. Only https
 * (or http on loopback) URLs are opened: never `javascript:`, `file:` or anything else.
 */
export async function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (urlProblem(url)) return false;
  if (!canOpenBrowser(env)) return false;
  const command = launcher(env);
  try {
    if (command) {
      const [file, ...args] = command as [string, ...string[]];
      const child = spawn(file, [...args, url], { stdio: "ignore", detached: true, env });
      child.on("error", () => undefined);
      child.unref();
      return true;
    }
    const { default: open } = await import("open");
    const child = await open(url, { wait: false });
    child.on("error", () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
