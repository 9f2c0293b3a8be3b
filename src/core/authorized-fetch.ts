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
  const base = options.fetch ?? ((input, init) => fetch(input, init));
  const strip = new Set(["authorization", ...options.authHeaders.map((h) => h.toLowerCase())]);
  const send = (input: string | URL | Request, init: RequestInit | undefined, credential: Credential) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    for (const name of strip) headers.delete(name);
    for (const [name, value] of Object.entries(credentialHeaders(credential))) headers.set(name, value);
    return base(input, { ...init, headers });
  };
  return async (input, init) => {
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
