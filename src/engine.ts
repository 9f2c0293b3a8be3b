/**
 * The vendor-neutral engine: presets, device login, sessions, the token store and model discovery,
 * with no OpenCode dependency. `import { ... } from "@haiilo/opencode-haiilo-ai/engine"`.
 */
export { authorizedFetch, type Credential, credentialHeaders } from "./core/authorized-fetch.js";
export { describeError, ErrorCode, isOidcError, OidcError } from "./core/errors.js";
export { fetchModels } from "./core/models/fetch-models.js";
export { toOpencodeModels } from "./core/models/settings.js";
export type { DiscoveredModel, OpencodeModel } from "./core/models/types.js";
export type { OidcSettings } from "./core/oauth/client.js";
export { type DeviceAuthorization, pollDeviceToken, startDeviceAuthorization } from "./core/oauth/device.js";
export { refreshTokens } from "./core/oauth/refresh.js";
export { revokeTokens } from "./core/oauth/revoke.js";
export type { Clock, FetchLike, Logger, SessionKey, TokenSet, TokenStorage } from "./core/ports.js";
export { redact } from "./core/redact.js";
export { Session, type SessionOptions } from "./core/session.js";
export { pickPreset, type Resolution, type ResolveOptions, resolvePresets } from "./presets/resolve.js";
export type { ConfigDocument, Preset, PresetDocument, ResolvedPreset } from "./presets/types.js";
export { checkConfigDocument, checkPresetDocument } from "./presets/validate.js";
export { listModels } from "./runtime/model-discovery.js";
export { PresetRuntime } from "./runtime/preset-runtime.js";
export { resolveRuntimes } from "./runtime/resolve-runtimes.js";
export { FileTokenStore } from "./store/token-store.js";
