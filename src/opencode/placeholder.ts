/**
 * The one model entry a provider gets while it has no model list at all (no login yet and nothing
 * cached, no static list). OpenCode 1.18.33 drops a provider without models, so without this entry
 * the provider could not even be found in the Connect dialog. A message to it never reaches the
 * gateway: the provider's fetch answers with an OpenAI-style error that says how to connect.
 */
import { ErrorCode, OidcError } from "../core/errors.js";
import { storedApiKey } from "../tenant/credentials.js";
import type { Tenant } from "../tenant/tenant.js";
import { connectHint } from "./hints.js";
import type { OpencodeModel } from "./models.js";

export const PLACEHOLDER_MODEL_ID = "log-in-to-list-models";

export const PLACEHOLDER_MODEL: OpencodeModel = {
  name: "Log in to list models — Ctrl+P → Connect provider",
  tool_call: false,
  attachment: false,
};

/** Whether an SDK request is for the placeholder model (the chat body names the model). */
export function isPlaceholderRequest(init: RequestInit | undefined): boolean {
  const body = init?.body;
  if (typeof body !== "string" || !body.includes(PLACEHOLDER_MODEL_ID)) return false;
  try {
    return (JSON.parse(body) as { model?: unknown }).model === PLACEHOLDER_MODEL_ID;
  } catch {
    return false;
  }
}

/** Why the provider has only the placeholder, as seen when OpenCode loaded the plugin. */
export interface PlaceholderContext {
  /** What the model listing said. */
  problem?: string;
  /** Whether there was a login or an API key then. */
  connected: boolean;
}

/** Whether the tenant has a login or an API key (reads the store; for the placeholder's answer only). */
export async function isConnected(tenant: Tenant): Promise<boolean> {
  return (
    (await tenant.hasSession().catch(() => false)) ||
    (await storedApiKey(tenant).catch(() => undefined)) !== undefined
  );
}

/**
 * Why the placeholder is all there is, as the error a message to it gets: how to connect when there
 * is no login; that OpenCode must load again when the login came after it started (a login from
 * the Connect dialog reloads it by itself); otherwise what the gateway said when OpenCode started.
 */
export async function placeholderError(tenant: Tenant, context: PlaceholderContext): Promise<OidcError> {
  const { name } = tenant.preset.provider;
  if (!(await isConnected(tenant))) {
    return new OidcError(
      ErrorCode.NOT_LOGGED_IN,
      `${name} is not connected yet, so it has no models. The real models replace this entry as soon as you are connected.`,
      { hint: connectHint(tenant) },
    );
  }
  if (!context.connected) {
    return new OidcError(
      ErrorCode.GATEWAY_UNAVAILABLE,
      `${name} was connected after OpenCode started, so its models are not loaded yet.`,
      { hint: "Start OpenCode again to load them (a login from /connect reloads OpenCode by itself)." },
    );
  }
  const { problem } = context;
  return new OidcError(
    ErrorCode.GATEWAY_UNAVAILABLE,
    `${name}'s gateway listed no models when OpenCode started${problem ? ` (${problem})` : ""}.`,
    {
      hint: `Check with \`opencode-oidc models --preset ${tenant.preset.id}\`, then start OpenCode again; the list is kept from then on.`,
    },
  );
}
