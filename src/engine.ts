/**
 * The vendor-neutral engine: presets, the login use case, sessions, the token store and model
 * discovery, with no OpenCode dependency (nothing under src/opencode is reachable from here). `import { ... } from "@haiilo/opencode-haiilo-ai/engine"`.
 */
export { authorizedFetch, type Credential, credentialHeaders } from "./core/authorized-fetch.js";
export { describeError, ErrorCode, isOidcError, OidcError } from "./core/errors.js";
export { fetchModels } from "./core/models/fetch-models.js";
export { applyModelSettings } from "./core/models/settings.js";
export type { DiscoveredModel, ModelSpec } from "./core/models/types.js";
export type { OidcSettings } from "./core/oauth/client.js";
export { type DeviceAuthorization, pollDeviceToken, startDeviceAuthorization } from "./core/oauth/device.js";
export { refreshTokens } from "./core/oauth/refresh.js";
export { revokeTokens } from "./core/oauth/revoke.js";
export type {
  Clock,
  FetchLike,
  Logger,
  SessionKey,
  StorageOptions,
  TokenSet,
  TokenStorage,
} from "./core/ports.js";
export { redact } from "./core/redact.js";
export { Session, type SessionOptions } from "./core/session.js";
export { pickPreset, type Resolution, type ResolveOptions, resolvePresets } from "./presets/resolve.js";
export type { ConfigDocument, Preset, PresetDocument, ResolvedPreset } from "./presets/types.js";
export { checkConfigDocument, checkPresetDocument } from "./presets/validate.js";
export {
  FileTokenStore,
  type StoreStatus,
  type TokenStoreMode,
  type TokenStoreOptions,
} from "./store/token-store.js";
export { checkApiKey } from "./tenant/api-key.js";
export { chooseCredential, storedApiKey } from "./tenant/credentials.js";
export {
  beginLogin,
  type LoginMethod,
  type LoginOutcome,
  type LoginPrompt,
  type LoginUi,
  login,
  type PendingLogin,
} from "./tenant/login.js";
export { type ListModelsOptions, listModels, type ModelListing } from "./tenant/model-listing.js";
export { resolveTenants, type Tenants } from "./tenant/resolve-tenants.js";
export { type ApiKeySource, Tenant, type TenantOptions } from "./tenant/tenant.js";
