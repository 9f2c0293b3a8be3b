/** How to start a new login, for every error that ends or lacks one. */
export function loginAgainHint(): string {
  return "Log in again: `opencode-oidc login`, or in OpenCode run `opencode auth login` and choose the provider.";
}
