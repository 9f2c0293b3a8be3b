import { BROWSER_LOGIN } from "../core/defaults.js";
import { ErrorCode, OidcError } from "../core/errors.js";
import type { OidcSettings } from "../core/oauth/client.js";
import { decodeJwtClaims } from "../core/oauth/tokens.js";
import type { TokenSet } from "../core/ports.js";
import type { Tenant } from "./tenant.js";

/** The interactive ways to log in. Each grant plugs in here; hosts only render. */
export type LoginMethod = "device" | "browser";

export const LOGIN_METHODS: readonly LoginMethod[] = ["device", "browser"];

/** What a person must see to approve a login. */
export interface LoginPrompt {
  method: LoginMethod;
  /** Where to go: the complete verification URL when the IdP gives one (the code filled in). */
  url: string;
  /** The plain verification URL, where the code is typed. */
  verificationUri: string;
  /**
   * Whether `url` carries the code, so the person only confirms it. Not so when the IdP sends no
   * complete verification URL (Entra ID, Google): then the code is typed in at `verificationUri`.
   */
  codeInUrl: boolean;
  /** The code to confirm or type (device flow). */
  userCode?: string;
  /** The IdP's own instructions, when it sends any (Entra ID), without control characters. */
  message?: string;
  /** When the prompt stops working (epoch ms). */
  expiresAt: number;
  /** Browser login: where the browser returns after sign-in (`http://127.0.0.1:<port>/callback`). */
  redirectUri?: string;
  /** Browser login: whether a loopback listener waits for that return (else only a paste answers). */
  listening?: boolean;
}

/** Who logged in, for display. No secret in it. */
export interface LoginOutcome {
  subject: string | undefined;
  email: string | undefined;
  expiresAt: number;
  refreshable: boolean;
  /** The access token's claims when it is a JWT (aud, scope, ...), for display only. */
  accessClaims: Record<string, unknown>;
  /** Where the tokens were stored. */
  storedIn: string;
}

/** A login that was started: show `prompt`, then `complete()` waits for the approval and saves. */
export interface PendingLogin {
  prompt: LoginPrompt;
  complete(): Promise<LoginOutcome>;
  /**
   * Browser login only, the paste fallback: the address the browser ended on, or its code. Text that
   * is no answer rejects and the login goes on; an answer settles the login (see `complete()`).
   */
  paste?(text: string): Promise<void>;
}

/** The small port a host gives `login`: it renders, the use case does the rest. */
export interface LoginUi {
  show(prompt: LoginPrompt): void;
  /** Opens the URL in the user's browser when the host can; resolves whether it did. */
  openBrowser?(url: string): Promise<boolean>;
  /** Called once the use case waits for the person. */
  waiting?(): void;
}

export interface LoginOptions {
  signal?: AbortSignal;
  /** Browser login: listen on loopback for the redirect (default); false: only the paste fallback. */
  listen?: boolean;
  /** Browser login: where the page the browser lands on sends the user back ("the terminal"). */
  returnTo?: string;
  /** Browser login: how long to wait for the answer (default BROWSER_LOGIN.timeoutMs). */
  timeoutMs?: number;
}

/** The login a preset offers first: the device flow, else the browser login. */
export function defaultMethod(tenant: Tenant): LoginMethod {
  const { deviceFlow, browser } = tenant.preset.auth;
  return !deviceFlow.enabled && browser.enabled ? "browser" : "device";
}

function methodOffered(tenant: Tenant, method: LoginMethod): void {
  const { deviceFlow, browser } = tenant.preset.auth;
  const enabled = method === "device" ? deviceFlow.enabled : browser.enabled;
  if (!enabled) {
    throw new OidcError(ErrorCode.USAGE, `Preset "${tenant.preset.id}" does not offer the ${method} login.`, {
      hint: tenant.preset.auth.apiKey.enabled ? "Use an API key instead." : undefined,
    });
  }
}

function aborted(signal: AbortSignal | undefined, error: unknown): unknown {
  return signal?.aborted ? new OidcError(ErrorCode.ABORTED, "Login cancelled.", { cause: error }) : error;
}

function outcome(tenant: Tenant, tokens: TokenSet): LoginOutcome {
  const accessClaims = decodeJwtClaims(tokens.accessToken) ?? {};
  const claims = decodeJwtClaims(tokens.idToken) ?? accessClaims;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    subject: text(claims.sub),
    email: text(claims.email),
    expiresAt: tokens.expiresAt,
    refreshable: tokens.refreshToken !== undefined,
    accessClaims,
    storedIn: tenant.paths.tokenFile,
  };
}

/**
 * Starts a login: checks that the store can take the tokens (before anyone is asked to approve),
 * starts the grant and returns what to show. `complete()` waits for the approval and saves.
 */
export async function beginLogin(
  tenant: Tenant,
  method: LoginMethod = "device",
  options: LoginOptions = {},
): Promise<PendingLogin> {
  const settings = tenant.requireOidc();
  methodOffered(tenant, method);
  const { signal } = options;
  await tenant.store.checkWritable();
  if (method === "browser") return beginBrowserLogin(tenant, settings, options);
  const { pollDeviceToken, startDeviceAuthorization } = await import("../core/oauth/device.js");
  const pkce = tenant.preset.auth.deviceFlow.pkce;
  const auth = await startDeviceAuthorization(settings, { fetch: tenant.fetch, signal, pkce }).catch(
    (error: unknown) => {
      throw aborted(signal, error);
    },
  );
  tenant.logger.log("info", "login started", {
    method,
    verificationUri: auth.verificationUri,
    expiresInMin: Math.round((auth.expiresAt - Date.now()) / 60_000),
  });
  return {
    prompt: {
      method,
      url: auth.verificationUriComplete ?? auth.verificationUri,
      verificationUri: auth.verificationUri,
      codeInUrl: auth.verificationUriComplete !== undefined,
      userCode: auth.userCode,
      ...(auth.message && { message: auth.message }),
      expiresAt: auth.expiresAt,
    },
    complete: () =>
      finishLogin(tenant, method, signal, () =>
        pollDeviceToken(settings, auth, { fetch: tenant.fetch, signal }),
      ),
  };
}

/** Waits for the grant's tokens, saves them as the tenant's login, logs the outcome (never a secret). */
async function finishLogin(
  tenant: Tenant,
  method: LoginMethod,
  signal: AbortSignal | undefined,
  tokens: () => Promise<TokenSet>,
): Promise<LoginOutcome> {
  try {
    const got = await tokens();
    await tenant.loginSession().save(got);
    tenant.logger.log("info", "login complete", { method, expiresAt: new Date(got.expiresAt).toISOString() });
    return outcome(tenant, got);
  } catch (error) {
    const final = aborted(signal, error);
    tenant.logger.log("error", "login failed", {
      method,
      code: (final as { code?: string }).code ?? "unknown",
    });
    throw final;
  }
}

/** The browser login: authorization code + PKCE with a loopback redirect, or the paste fallback. */
async function beginBrowserLogin(
  tenant: Tenant,
  settings: OidcSettings,
  options: LoginOptions,
): Promise<PendingLogin> {
  const { startBrowserLogin } = await import("../core/oauth/browser-login.js");
  const { browser } = tenant.preset.auth;
  const timeoutMs = options.timeoutMs ?? BROWSER_LOGIN.timeoutMs;
  const started = Date.now();
  const login = await startBrowserLogin(settings, {
    ports: browser.ports,
    path: browser.path,
    listen: options.listen !== false,
    timeoutMs,
    appName: tenant.preset.name,
    returnTo: options.returnTo ?? "the terminal",
    ...(tenant.fetch && { fetch: tenant.fetch }),
    ...(options.signal && { signal: options.signal }),
  });
  tenant.logger.log("info", "login started", {
    method: "browser",
    redirectUri: login.redirectUri,
    listening: login.listening,
  });
  return {
    prompt: {
      method: "browser",
      url: login.url,
      verificationUri: login.url,
      codeInUrl: false,
      expiresAt: started + timeoutMs,
      redirectUri: login.redirectUri,
      listening: login.listening,
    },
    complete: () => finishLogin(tenant, "browser", options.signal, () => login.result),
    async paste(text: string) {
      await login.paste(text);
    },
  };
}

/** The whole login: start, show, open the browser where the host can, wait, save. */
export async function login(
  tenant: Tenant,
  method: LoginMethod,
  ui: LoginUi,
  options: LoginOptions = {},
): Promise<LoginOutcome> {
  const pending = await beginLogin(tenant, method, options);
  ui.show(pending.prompt);
  await ui.openBrowser?.(pending.prompt.url);
  ui.waiting?.();
  return pending.complete();
}

/** Minutes left until `expiresAt`, at least 1 (for "valid for N minutes"). */
export function minutesLeft(expiresAt: number, now = Date.now()): number {
  return Math.max(1, Math.round((expiresAt - now) / 60_000));
}
