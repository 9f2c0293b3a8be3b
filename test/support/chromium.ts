/**
 * A real headless Chromium (Debian's /usr/bin/chromium) driven by puppeteer-core, signing in on the
 * sandbox IdP's pages the way a person would, plus the hook a test's browser launcher calls. Only
 * loopback requests leave the browser (the IdP's page asks for a web font: refused).
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, HTTPRequest } from "puppeteer-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const LAUNCHER = fileURLToPath(new URL("./browser-launcher.mjs", import.meta.url));

/** Whether the browser tests can run; says so loudly when not. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  console.warn(`SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does).`);
  return false;
}

export interface SignIn {
  /** The last address the browser navigated to (the redirect URI with code/state/iss, or an error). */
  landedOn: string;
  /** The page's text there, when it loaded (the listener's page); undefined when nothing listened. */
  text?: string;
  outcome?: "success" | "failure";
  status?: number;
}

export interface SignInOptions {
  login?: string;
  /** Press Cancel on the login page instead of signing in. */
  deny?: boolean;
  /** Addresses the browser cannot reach (as when it runs on another machine than the redirect's listener). */
  unreachable?: RegExp;
}

export interface Chromium {
  /** Opens `url`, signs in as `login` (or presses Cancel with `deny`), consents, and reports where it ended. */
  signIn(url: string, options?: SignInOptions): Promise<SignIn>;
  close(): Promise<void>;
}

const loopback = (url: string) => /^(https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]|data:|about:)/.test(url);

export async function startChromium(): Promise<Chromium> {
  const { default: puppeteer } = await import("puppeteer-core");
  const browser: Browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"],
  });
  return {
    async signIn(url, options = {}) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      let landedOn = url;
      await page.setRequestInterception(true);
      page.on("request", (request: HTTPRequest) => {
        if (request.isNavigationRequest() && request.frame() === page.mainFrame()) landedOn = request.url();
        if (options.unreachable?.test(request.url())) void request.abort("connectionrefused");
        else if (loopback(request.url())) void request.continue();
        else void request.abort();
      });
      try {
        const idp = new URL(url).origin;
        await page.goto(url, { waitUntil: "domcontentloaded" });
        for (let step = 0; step < 4 && page.url().startsWith(idp); step++) {
          const prompt = await page
            .$eval('input[name="prompt"]', (e) => (e as HTMLInputElement).value)
            .catch(() => "");
          if (prompt === "login" && options.deny) {
            await Promise.all([
              page.waitForNavigation({ waitUntil: "domcontentloaded" }).catch(() => undefined),
              page.click('a[href$="/abort"]'),
            ]);
          } else if (prompt === "login") {
            await page.type('input[name="login"]', options.login ?? "alice");
            await page.type('input[name="password"]', "correct horse battery staple");
            await Promise.all([
              page.waitForNavigation({ waitUntil: "domcontentloaded" }).catch(() => undefined),
              page.click('button[type="submit"]'),
            ]);
          } else if (prompt === "consent") {
            await Promise.all([
              page.waitForNavigation({ waitUntil: "domcontentloaded" }).catch(() => undefined),
              page.click('button[type="submit"]'),
            ]);
          } else {
            break;
          }
        }
        const outcome = await page
          .$eval("main[data-outcome]", (e) => e.getAttribute("data-outcome"))
          .catch(() => undefined);
        const text = outcome ? await page.$eval("main", (e) => e.textContent ?? "") : undefined;
        return {
          landedOn,
          ...(text !== undefined && { text }),
          ...(outcome && { outcome: outcome as "success" | "failure" }),
        };
      } finally {
        await context.close();
      }
    },
    close: () => browser.close(),
  };
}

/** The address the test launcher POSTs each URL to; `next()` resolves with the next one. */
export async function browserHook(): Promise<{
  url: string;
  next(): Promise<string>;
  close(): Promise<void>;
}> {
  const queue: string[] = [];
  const waiting: Array<(url: string) => void> = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (c: string) => (body += c));
    req.on("end", () => {
      res.end("ok");
      const wake = waiting.shift();
      if (wake) wake(body);
      else queue.push(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/open`,
    next: () => {
      const ready = queue.shift();
      return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** OPENCODE_OIDC_BROWSER for a child process: this repository's launcher, run by the same Node. */
export function launcherEnv(hookUrl: string): Record<string, string> {
  return { OPENCODE_OIDC_BROWSER: `${process.execPath} ${LAUNCHER}`, BROWSER_HOOK_URL: hookUrl };
}

export const REPO_ROOT = join(fileURLToPath(new URL("../..", import.meta.url)));
