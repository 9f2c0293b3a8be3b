import { urlProblem } from "../core/loopback.js";

/**
 * Opens a URL in the user's browser when there is one. Never throws and never waits for the
 * browser: the URL and code are always printed too, so a headless login still works. Only https
 * (or http on loopback) URLs are opened: never `javascript:`, `file:` or anything else.
 */
export async function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (urlProblem(url)) return false;
  if (env.OPENCODE_OIDC_NO_BROWSER === "1" || env.CI) return false;
  if (process.platform === "linux" && !env.DISPLAY && !env.WAYLAND_DISPLAY) return false;
  try {
    const { default: open } = await import("open");
    const child = await open(url, { wait: false });
    child.on("error", () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
