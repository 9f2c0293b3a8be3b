/**
 * OpenCode's auth.json only tells OpenCode that a provider is connected (so it runs the loader).
 * The tokens themselves live in the token store; auth.json gets this marker, never a secret.
 */
export const STORE_MARKER = "stored-by-opencode-oidc";

export const PLUGIN_ID = "@haiilo/opencode-haiilo-ai";
