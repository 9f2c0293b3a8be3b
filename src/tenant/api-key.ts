import { MAX_API_KEY_CHARS } from "../core/defaults.js";
import { ErrorCode, OidcError } from "../core/errors.js";
import { registerSecret } from "../core/redact.js";
import type { Preset } from "../presets/types.js";

/**
 * Checks an API key (already trimmed) before it is stored or sent, and says what is wrong without
 * quoting it: at most MAX_API_KEY_CHARS visible ASCII characters (what an HTTP header can carry; a
 * key with a line break would otherwise fail as "the gateway cannot be reached"), then the preset's
 * pattern, which so only ever runs on a key of bounded length (and was checked for catastrophic
 * backtracking when the preset was validated).
 */
export function checkApiKey(preset: Preset, key: string): void {
  const { pattern, header } = preset.auth.apiKey;
  registerSecret(key);
  const problem =
    keyShapeProblem(key) ?? (new RegExp(pattern).test(key) ? undefined : `keys must match ${pattern}`);
  if (!problem) return;
  throw new OidcError(
    ErrorCode.API_KEY_INVALID,
    `That API key does not look right for ${preset.name}: ${problem}.`,
    {
      hint: `It is sent in the ${header} header. Copy the whole key, without quotes, spaces or line breaks.`,
    },
  );
}

function keyShapeProblem(key: string): string | undefined {
  if (key.length === 0) return "it is empty";
  if (key.length > MAX_API_KEY_CHARS)
    return `it is ${key.length} characters long, and keys have at most ${MAX_API_KEY_CHARS}`;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x20 && code < 0x7f) continue;
    const what =
      code === 0x0a || code === 0x0d
        ? "a line break"
        : code === 0x20 || code === 0x09
          ? "a space"
          : code < 0x20 || code === 0x7f
            ? "a control character"
            : "a character outside printable ASCII";
    return `it contains ${what} (at character ${i + 1})`;
  }
  return undefined;
}
