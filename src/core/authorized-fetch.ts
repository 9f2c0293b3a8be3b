import { ErrorCode, OidcError } from "./errors.js";
import type { FetchLike } from "./ports.js";

export type Credential = { kind: "bearer"; token: string } | { kind: "api-key"; header: string; key: string };

export interface AuthorizedFetchOptions {
  /** The credential for this request; for a bearer token, read from the session (memory while fresh). */
  credential: () => Promise<Credential>;
  /** Called once after a 401 with the rejected credential; returns a renewed one, or undefined. */
  renew?: (rejected: Credential) => Promise<Credential | undefined>;
  /** Header names that carry credentials and must not reach the gateway twice (lower case). */
  authHeaders: readonly string[];
  fetch?: FetchLike;
  /**
   * The gateway base URL the credential is bound to. A request elsewhere (another origin, or a path
   * outside the base path) is refused with UNTRUSTED_DESTINATION before anything is sent.
   */
  boundTo?: string;
  /** Explains a refusal (which configuration sent the request elsewhere, how to allow it). */
  describeRefusal?: (
    url: string,
  ) => Promise<{ message?: string; hint?: string }> | { message?: string; hint?: string };
}

/** Whether `url` is the base URL or below it: same origin, and the path under the base path. */
export function isWithinBase(url: string, base: string): boolean {
  return withinBase(base)(url);
}

/**
 * A check of URLs against one base, prepared once (it runs on every request). The common case needs
 * no parsing: the URL starts with the base and has no dot segment or backslash that a parser would
 * fold into another path.
 */
export function withinBase(base: string): (url: string) => boolean {
  const prefix = base.replace(/\/+$/, "");
  const slash = `${prefix}/`;
  const query = `${prefix}?`;
  const plainPrefix = /^https?:\/\/[^/?#@]+(\/|$)/i.test(prefix);
  return (url) => {
    if (plainPrefix && (url === prefix || url.startsWith(slash) || url.startsWith(query))) {
      const rest = url.slice(prefix.length);
      if (!rest.includes("/.") && !rest.includes("\\") && !/%2e/i.test(rest)) return true;
    }
    let target: URL;
    let root: URL;
    try {
      target = new URL(url);
      root = new URL(base);
    } catch {
      return false;
    }
    if (target.origin !== root.origin || target.username || target.password) return false;
    const path = root.pathname.replace(/\/+$/, "");
    return path === "" || target.pathname === path || target.pathname.startsWith(`${path}/`);
  };
}

function requestUrl(input: string | URL | Request): string {
  return typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
}

export function credentialHeaders(credential: Credential): Record<string, string> {
  return credential.kind === "bearer"
    ? { authorization: `Bearer ${credential.token}` }
    : { [credential.header]: credential.key };
}

/**
 * A fetch that sets the current credential on every request, removes any other credential header
 * (the SDK's own `Authorization: Bearer <apiKey>`), and on a 401 renews once and retries once.
 */
export function authorizedFetch(options: AuthorizedFetchOptions): FetchLike {
  const within = options.boundTo === undefined ? undefined : withinBase(options.boundTo);
  const base = options.fetch ?? ((input, init) => fetch(input, init));
  const strip = new Set(["authorization", ...options.authHeaders.map((h) => h.toLowerCase())]);
  const send = (input: string | URL | Request, init: RequestInit | undefined, credential: Credential) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    for (const name of strip) headers.delete(name);
    for (const [name, value] of Object.entries(credentialHeaders(credential))) headers.set(name, value);
    // An API key never follows a redirect: fetch would carry a custom header such as x-api-key to
    // whatever host the answer names, so the 3xx goes back to the caller as it is. A Bearer token may
    // follow one: fetch drops Authorization on a redirect to another origin (and "manual" costs
    // about 20 µs per request in undici, on the path every chat request takes).
    return base(
      input,
      credential.kind === "api-key" ? { ...init, headers, redirect: "manual" } : { ...init, headers },
    );
  };
  return async (input, init) => {
    if (within) {
      const url = requestUrl(input);
      if (!within(url)) {
        const explained = (await options.describeRefusal?.(url)) ?? {};
        throw new OidcError(
          ErrorCode.UNTRUSTED_DESTINATION,
          explained.message ??
            `Not sending credentials to ${originOf(url)}: they are bound to ${options.boundTo}.`,
          { hint: explained.hint },
        );
      }
    }
    const credential = await options.credential();
    const response = await send(input, init, credential);
    if (response.status !== 401 || !options.renew || !replayable(input, init)) return response;
    const renewed = await options.renew(credential);
    if (!renewed) return response;
    await response.body?.cancel().catch(() => undefined);
    return send(input, init, renewed);
  };
}

/** A request can be sent twice only if its body is not a one-shot stream. */
function replayable(input: string | URL | Request, init: RequestInit | undefined): boolean {
  if (input instanceof Request && input.body) return false;
  const body = init?.body;
  return (
    body === undefined ||
    body === null ||
    typeof body === "string" ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob
  );
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "an invalid URL";
  }
}
