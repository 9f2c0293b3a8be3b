/**
 * Removes secrets from text before it reaches a log, an error message or a terminal. Known secrets
 * (registered when they are issued) are replaced exactly; anything shaped like a JWT, an `sk-` key,
 * a bearer credential or an OAuth secret parameter is replaced by shape.
 */
const known = new Set<string>();

const SHAPES: Array<[RegExp, string]> = [
  [/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, "[redacted-jwt]"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [redacted]"],
  [/\bsk-[A-Za-z0-9_-]{4,}/g, "sk-[redacted]"],
  [
    /\b(access_token|refresh_token|id_token|device_code|user_code|code|client_secret|api_key|apiKey|accessToken|refreshToken|idToken|deviceCode|userCode|key)(["']?\s*[:=]\s*["']?)[^"'&\s,}]{6,}/g,
    "$1$2[redacted]",
  ],
];

/** Register a secret so that every later `redact` removes it wherever it appears. */
export function registerSecret(secret: string | undefined | null): void {
  if (secret && secret.length >= 6) known.add(secret);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join("[redacted]");
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
  return out;
}
