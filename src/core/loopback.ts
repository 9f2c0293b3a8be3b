import { ErrorCode, OidcError } from "./errors.js";

/**
 * 127.0.0.0/8, ::1 and the name `localhost`: the only hosts where plain http is acceptable. Other
 * `*.localhost` names are not loopback here: they are resolved by DNS, and a resolver can send them
 * (and a credential in cleartext) anywhere.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost") return true;
  if (host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return v4?.slice(1).every((part) => Number(part) <= 255) ?? false;
}

/** Why a URL is not acceptable for an issuer or gateway, or undefined when it is fine. */
export function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a valid URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `uses ${url.protocol} (expected https)`;
  if (url.username || url.password) return "must not contain credentials";
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    return `uses plain http on ${url.hostname}; http is allowed only on loopback (127.0.0.1, ::1, localhost) — use https`;
  }
  return undefined;
}

/** The URL as it may be shown: a user name or password in it is replaced by `***` (it may be a secret). */
export function shownUrl(value: string): string {
  try {
    const url = new URL(value);
    if (!url.username && !url.password) return value;
    url.username = "***";
    url.password = "";
    return url.href;
  } catch {
    return value;
  }
}

/** What to do about a URL `urlProblem` refuses; `field` names the setting it comes from, if known. */
export function urlHint(value: string, field?: string): string {
  const where = field ? `Set ${field} to` : "Use";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${where} an absolute https:// URL, for example https://idp.example.com/oauth2/default.`;
  }
  if (url.username || url.password) {
    url.username = "";
    url.password = "";
    return `${where} the URL without a user name or password (${url.href}); credentials never go in a URL.`;
  }
  if (url.protocol === "http:") {
    url.protocol = "https:";
    return `${where} ${url.href} if the server offers https. Plain http is accepted only on this machine (127.0.0.1, ::1, localhost), for local tests.`;
  }
  return `${where} an https:// URL.`;
}

export function assertSecureUrl(value: string, what: string, field?: string): URL {
  const problem = urlProblem(value);
  if (problem) {
    throw new OidcError(ErrorCode.INSECURE_URL, `${what} ${shownUrl(value)} ${problem}.`, {
      hint: urlHint(value, field),
    });
  }
  return new URL(value);
}

export function isInsecureLoopback(url: URL | string): boolean {
  const parsed = typeof url === "string" ? new URL(url) : url;
  return parsed.protocol === "http:" && isLoopbackHost(parsed.hostname);
}
