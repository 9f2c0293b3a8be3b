/**
 * Removes secrets from text before it reaches a log, an error message or a terminal. Known secrets
 * (registered when they are issued) are replaced exactly, also in their URL-encoded form; anything
 * shaped like a JWT, an `sk-` key, a bearer credential or an OAuth secret parameter is replaced by
 * shape.
 */
const known = new Set<string>();

/**
 * Names whose value is a secret wherever they appear: `name=value`, `"name":"value"`, `name: value`.
 * `token` is the parameter of a revocation request (RFC 7009).
 */
const SECRET_NAMES =
  "token|access_token|refresh_token|id_token|device_code|user_code|client_secret|code_verifier|client_assertion|subject_token|actor_token|api_key|apiKey|accessToken|refreshToken|idToken|deviceCode|userCode|codeVerifier|clientSecret|key";

const SHAPES: Array<[RegExp, string]> = [
  [/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, "[redacted-jwt]"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [redacted]"],
  [/\bsk-[A-Za-z0-9_-]{4,}/g, "sk-[redacted]"],
  [new RegExp(`\\b(${SECRET_NAMES})(["']?\\s*[:=]\\s*["']?)[^"'&\\s,}]{6,}`, "g"), "$1$2[redacted]"],
  // An authorization code travels as a query or form parameter (`?code=…`, `&code=…`). The JSON
  // form is left alone: `"code":"SESSION_ENDED"` is the debug log's own error code field.
  [/([?&\s]|^)code=[^&\s"']{6,}/g, "$1code=[redacted]"],
];

/** Register a secret so that every later `redact` removes it wherever it appears. */
export function registerSecret(secret: string | undefined | null): void {
  if (!secret || secret.length < 6) return;
  known.add(secret);
  // As it appears in a form body or query string an IdP might echo back.
  const encoded = new URLSearchParams({ s: secret }).toString().slice(2);
  if (encoded !== secret) known.add(encoded);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join("[redacted]");
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
  return out;
}
