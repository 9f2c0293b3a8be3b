import { ErrorCode, OidcError } from "../core/errors.js";
import { registerSecret } from "../core/redact.js";
import type { Preset } from "../presets/types.js";

/** Checks an API key against the preset's pattern (the key itself never appears in the error). */
export function checkApiKey(preset: Preset, key: string): void {
  const { pattern, header } = preset.auth.apiKey;
  registerSecret(key);
  if (!key.trim() || !new RegExp(pattern).test(key.trim())) {
    throw new OidcError(
      ErrorCode.API_KEY_INVALID,
      `That API key does not look right for ${preset.name}: keys must match ${pattern}.`,
      { hint: `It is sent in the ${header} header. Copy the whole key, without quotes or spaces.` },
    );
  }
}
