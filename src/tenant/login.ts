import { ErrorCode, OidcError } from "../core/errors.js";
import { decodeJwtClaims } from "../core/oauth/tokens.js";
import type { TokenSet } from "../core/ports.js";
import type { Tenant } from "./tenant.js";

/** The interactive ways to log in. Each grant plugs in here; hosts only render. */
export type LoginMethod = "device";

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
}

function methodOffered(tenant: Tenant, method: LoginMethod): void {
  const enabled = method === "device" && tenant.preset.auth.deviceFlow.enabled;
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
  const { pollDeviceToken, startDeviceAuthorization } = await import("../core/oauth/device.js");
  const auth = await startDeviceAuthorization(settings, { fetch: tenant.fetch, signal }).catch(
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
    async complete() {
      try {
        const tokens = await pollDeviceToken(settings, auth, { fetch: tenant.fetch, signal });
        await tenant.session().save(tokens);
        tenant.logger.log("info", "login complete", {
          method,
          expiresAt: new Date(tokens.expiresAt).toISOString(),
        });
        return outcome(tenant, tokens);
      } catch (error) {
        const final = aborted(signal, error);
        tenant.logger.log("error", "login failed", {
          method,
          code: (final as { code?: string }).code ?? "unknown",
        });
        throw final;
      }
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
