import { ErrorCode, OidcError } from "../core/errors.js";
import { TOKEN_STORE_MODES, type TokenStoreMode } from "./token-store.js";

export const TOKEN_STORE_ENV = "OPENCODE_OIDC_TOKEN_STORE";

/**
 * The store's mode: OPENCODE_OIDC_TOKEN_STORE, else `tokenStore` from the global config, else "auto".
 * A bad value is not guessed at: the store then fails on use with this USAGE error.
 */
export function tokenStoreMode(
  env: NodeJS.ProcessEnv,
  configured: TokenStoreMode | undefined,
): { mode: TokenStoreMode; invalid?: OidcError } {
  const raw = env[TOKEN_STORE_ENV]?.trim();
  if (!raw) return { mode: configured ?? "auto" };
  const mode = raw.toLowerCase() as TokenStoreMode;
  if (TOKEN_STORE_MODES.includes(mode)) return { mode };
  return {
    mode: "file",
    invalid: new OidcError(
      ErrorCode.USAGE,
      `${TOKEN_STORE_ENV} must be auto, keyring or file, not "${raw.slice(0, 40)}".`,
      { hint: `Unset it to use tokenStore from the global config (default auto).` },
    ),
  };
}
