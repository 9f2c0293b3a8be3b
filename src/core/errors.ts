/**
 * One error model for the whole package. Every error the engine raises is an `OidcError` with a
 * stable `code`; messages are plain sentences a person can act on and never contain secrets.
 */
export const ErrorCode = {
  PRESET_INVALID: "PRESET_INVALID",
  PRESET_NOT_FOUND: "PRESET_NOT_FOUND",
  PRESET_INCOMPLETE: "PRESET_INCOMPLETE",
  INSECURE_URL: "INSECURE_URL",
  DISCOVERY_FAILED: "DISCOVERY_FAILED",
  DEVICE_ACCESS_DENIED: "DEVICE_ACCESS_DENIED",
  DEVICE_CODE_EXPIRED: "DEVICE_CODE_EXPIRED",
  DEVICE_FLOW_FAILED: "DEVICE_FLOW_FAILED",
  BROWSER_LOGIN_DENIED: "BROWSER_LOGIN_DENIED",
  BROWSER_LOGIN_FAILED: "BROWSER_LOGIN_FAILED",
  BROWSER_LOGIN_TIMEOUT: "BROWSER_LOGIN_TIMEOUT",
  LOOPBACK_PORT_IN_USE: "LOOPBACK_PORT_IN_USE",
  MACHINE_IDENTITY_INVALID: "MACHINE_IDENTITY_INVALID",
  MACHINE_IDENTITY_REJECTED: "MACHINE_IDENTITY_REJECTED",
  NOT_LOGGED_IN: "NOT_LOGGED_IN",
  SESSION_ENDED: "SESSION_ENDED",
  SESSION_ELSEWHERE: "SESSION_ELSEWHERE",
  /** A request would carry a credential to a URL outside the gateway it is bound to. */
  UNTRUSTED_DESTINATION: "UNTRUSTED_DESTINATION",
  IDP_UNAVAILABLE: "IDP_UNAVAILABLE",
  IDP_REJECTED: "IDP_REJECTED",
  GATEWAY_UNAVAILABLE: "GATEWAY_UNAVAILABLE",
  GATEWAY_REJECTED: "GATEWAY_REJECTED",
  STORE_UNREADABLE: "STORE_UNREADABLE",
  STORE_WRITE_FAILED: "STORE_WRITE_FAILED",
  LOCK_TIMEOUT: "LOCK_TIMEOUT",
  API_KEY_INVALID: "API_KEY_INVALID",
  ABORTED: "ABORTED",
  USAGE: "USAGE",
  /** A failure nobody foresaw (a bug or an unexpected system error). */
  INTERNAL: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Errors a new login fixes. Hosts replace their hint with how to log in there. */
export const LOGIN_NEEDED: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.NOT_LOGGED_IN,
  ErrorCode.SESSION_ENDED,
  ErrorCode.SESSION_ELSEWHERE,
]);

const BRAND = Symbol.for("@haiilo/opencode-haiilo-ai/OidcError");

export interface OidcErrorOptions {
  cause?: unknown;
  /** What the user can do about it, one short sentence or a few lines. */
  hint?: string;
  /** Structured detail for programs (never secrets). Not enumerable, so it stays out of logs. */
  details?: unknown;
}

export class OidcError extends Error {
  override readonly name = "OidcError";
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  declare readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: OidcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    Object.defineProperty(this, "details", { value: options.details, enumerable: false });
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  /** The same error with a host's own hint (e.g. how to log in again in OpenCode or the CLI). */
  withHint(hint: string): OidcError {
    return new OidcError(this.code, this.message, { cause: this.cause, hint, details: this.details });
  }

  /** Message and hint together, as shown to a person. */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }
}

/** Works across realms and duplicated package copies, unlike `instanceof`. */
export function isOidcError(value: unknown): value is OidcError;
export function isOidcError(value: unknown, code: ErrorCode): boolean;
export function isOidcError(value: unknown, code?: ErrorCode): boolean {
  if (typeof value !== "object" || value === null || !(BRAND in value)) return false;
  return code === undefined || (value as unknown as OidcError).code === code;
}

export function describeError(error: unknown): string {
  if (isOidcError(error)) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
