import { createServer } from "node:net";
import { BROWSER_LOGIN, PRESET_DEFAULTS } from "../defaults.js";
import { describeError, ErrorCode, OidcError } from "../errors.js";
import type { Clock, TokenSet } from "../ports.js";
import {
  type AuthorizationRequest,
  completeAuthorization,
  pastedAnswer,
  startAuthorization,
} from "./authorization-code.js";
import type { CallbackPage } from "./callback-page.js";
import type { OidcSettings, RequestContext } from "./client.js";
import { LOOPBACK_HOST, type LoopbackListener, startLoopbackListener } from "./loopback-listener.js";

export interface BrowserLoginOptions extends RequestContext {
  /** Redirect ports to try in order (the preset's `auth.browser.ports`); empty: any free port. */
  ports?: readonly number[];
  path?: string;
  /** Listen on loopback for the redirect (default). false: only the paste fallback answers. */
  listen?: boolean;
  timeoutMs?: number;
  clock?: Clock;
  /** Shown on the page the browser lands on: "Logged in to <appName>". */
  appName: string;
  /** Where the user goes back to: "the terminal", "OpenCode". */
  returnTo: string;
}

export interface BrowserLogin {
  /** The URL to open (always shown to the user too). */
  readonly url: string;
  readonly redirectUri: string;
  /** Whether a loopback listener waits for the redirect. */
  readonly listening: boolean;
  /**
   * The paste fallback: the redirected URL or the code. Text that is no answer at all rejects and the
   * login goes on; anything else is the login's answer: this resolves once it has been checked and
   * exchanged, and `result` tells how that went.
   */
  paste(text: string): Promise<void>;
  /** The tokens, or why not. Settles only once the listener's port is free again. */
  readonly result: Promise<TokenSet>;
}

/**
 * A browser login (authorization code + PKCE, RFC 8252): builds the authorization URL, waits for the
 * first answer (the browser's redirect to the loopback listener, or a pasted URL or code), checks it
 * and exchanges the code. A time limit and the abort signal end it; every end frees the port.
 */
export async function startBrowserLogin(
  settings: OidcSettings,
  options: BrowserLoginOptions,
): Promise<BrowserLogin> {
  const path = options.path ?? PRESET_DEFAULTS.callbackPath;
  const timeoutMs = options.timeoutMs ?? BROWSER_LOGIN.timeoutMs;
  const back = `Go back to ${options.returnTo}.`;
  let request: AuthorizationRequest | undefined;
  let state: "waiting" | "answering" | "done" = "waiting";
  let settle!: { resolve: (t: TokenSet) => void; reject: (e: unknown) => void };
  const outcome = new Promise<TokenSet>((resolve, reject) => {
    settle = { resolve, reject };
  });
  outcome.catch(() => undefined);

  /** Checks one answer and exchanges its code; `viaListener`: the listener closes itself after its page. */
  const answer = async (params: URLSearchParams, viaListener: boolean): Promise<TokenSet> => {
    state = "answering";
    try {
      const tokens = await completeAuthorization(settings, request as AuthorizationRequest, params, options);
      finish(() => settle.resolve(tokens), !viaListener);
      return tokens;
    } catch (error) {
      finish(() => settle.reject(error), !viaListener);
      throw error;
    }
  };

  const onRequest = async (params: URLSearchParams): Promise<{ page: CallbackPage; done: boolean }> => {
    if (state !== "waiting" || !request) {
      return {
        done: false,
        page: {
          status: 409,
          title: "This login already has its answer",
          lines: ["This browser login was already completed or is being completed.", back],
        },
      };
    }
    if (!params.has("code") && !params.has("error")) {
      return {
        done: false,
        page: {
          status: 400,
          title: "No login answer here",
          lines: [
            "This address receives the identity provider's answer after you sign in.",
            `${back} Start from the link shown there.`,
          ],
        },
      };
    }
    try {
      await answer(params, true);
      return {
        done: true,
        page: {
          status: 200,
          title: `Logged in to ${options.appName}`,
          lines: [`You can close this tab and go back to ${options.returnTo}.`],
        },
      };
    } catch (error) {
      return {
        done: true,
        page: {
          status: 400,
          title: `Login to ${options.appName} failed`,
          lines: [describeError(error).split("\n")[0] ?? "", `${back} It shows what to do next.`],
        },
      };
    }
  };

  const listener: LoopbackListener | undefined =
    options.listen === false
      ? undefined
      : await startLoopbackListener({ ports: options.ports ?? [], path, onRequest });
  const redirectUri =
    listener?.redirectUri ?? `http://${LOOPBACK_HOST}:${options.ports?.[0] ?? (await freePort())}${path}`;

  let timer: NodeJS.Timeout | undefined;
  const onAbort = () =>
    finish(() => settle.reject(new OidcError(ErrorCode.ABORTED, "The browser login was cancelled.")));
  function finish(settleNow: () => void, closeNow = true): void {
    if (state === "done") return;
    state = "done";
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    if (!listener) {
      settleNow();
      return;
    }
    if (closeNow) void listener.close();
    // The result settles once the port is free: a caller may start the next login at once.
    void listener.closed.then(settleNow);
  }

  try {
    request = await startAuthorization(settings, redirectUri, options);
  } catch (error) {
    await listener?.close();
    throw error;
  }
  timer = setTimeout(() => {
    const minutes = Math.max(1, Math.round(timeoutMs / 60_000));
    finish(() =>
      settle.reject(
        new OidcError(
          ErrorCode.BROWSER_LOGIN_TIMEOUT,
          `The browser login got no answer within ${timeoutMs < 60_000 ? `${Math.max(1, Math.round(timeoutMs / 1000))} seconds` : `${minutes} minute${minutes > 1 ? "s" : ""}`}.`,
          {
            hint: "Start the login again and sign in within that time. If the browser is on another machine, paste the address it ends on.",
          },
        ),
      ),
    );
  }, timeoutMs);
  timer.unref?.();
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    url: request.url,
    redirectUri,
    listening: listener !== undefined,
    result: outcome,
    async paste(text: string) {
      if (state !== "waiting") {
        throw new OidcError(ErrorCode.BROWSER_LOGIN_FAILED, "This browser login already has its answer.");
      }
      const params = pastedAnswer(text, request as AuthorizationRequest);
      await answer(params, false).catch(() => undefined);
    },
  };
}

/** A free loopback port for a redirect URI nobody listens on (the paste fallback alone). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, LOOPBACK_HOST, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
