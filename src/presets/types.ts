/** A preset document as written by a person (schemas/preset.schema.json). */
export type AudienceParam = "none" | "audience" | "resource" | "scope";
export type ClientSecretMethod = "client_secret_basic" | "client_secret_post";

export interface Endpoints {
  authorization?: string;
  deviceAuthorization?: string;
  token?: string;
  revocation?: string;
  jwks?: string;
}
export type { Modality, ModelRule } from "../core/models/types.js";
export type { OidcCompat, TokenEndpointAuth } from "../core/oauth/client.js";

/** The IdP a preset is for (`oidc.profile`); what each one sets is in profiles.ts. */
export type Profile = "generic" | "okta" | "entra" | "auth0" | "keycloak" | "google" | "ping" | "glewlwyd";

import type { ModelRule } from "../core/models/types.js";
import type { OidcCompat } from "../core/oauth/client.js";

export interface PresetDocument {
  $schema?: string;
  $comment?: string | string[];
  id: string;
  name?: string;
  extends?: string;
  provider?: { id?: string; name?: string; npm?: string; baseURL?: string };
  oidc?: {
    profile?: Profile;
    issuer?: string | null;
    clientId?: string | null;
    clientSecret?: string | null;
    audience?: string | null;
    audienceParam?: AudienceParam;
    scopes?: string[];
    compat?: Partial<OidcCompat>;
    endpoints?: Endpoints;
    refreshSkewSeconds?: number;
  };
  auth?: {
    deviceFlow?: { enabled?: boolean; label?: string; pkce?: boolean };
    browser?: { enabled?: boolean; label?: string; ports?: number[]; path?: string };
    apiKey?: { enabled?: boolean; label?: string; header?: string; pattern?: string };
    machine?: { enabled?: boolean; clientSecretMethod?: ClientSecretMethod };
  };
  env?: Record<string, string>;
  discovery?: {
    path?: string;
    metadataPath?: string | null;
    timeoutMs?: number;
    cacheTtlSeconds?: number;
    allow?: string[];
    deny?: string[];
    static?: Array<{ id: string }>;
  };
  models?: ModelRule[];
  log?: { file?: string; maxBytes?: number };
}

/** Where the token store keeps logins and API keys (docs/auth.md#os-keyring). */
export type TokenStoreSetting = "auto" | "keyring" | "file";

/** A config file or the plugin options (schemas/config.schema.json). */
export interface ConfigDocument {
  $schema?: string;
  default?: string;
  /** Honoured only in the user's global config file. */
  tokenStore?: TokenStoreSetting;
  presets?: PresetDocument[];
}

/** A preset after resolution: every default applied. `null` marks a value still to be supplied. */
export interface Preset {
  id: string;
  name: string;
  provider: { id: string; name: string; npm: string; baseURL: string };
  oidc: {
    profile: Profile;
    issuer: string | null;
    clientId: string | null;
    /** Only for IdPs that want one from an installed app (Google); never printed. */
    clientSecret: string | null;
    audience: string | null;
    audienceParam: AudienceParam;
    scopes: string[];
    compat: OidcCompat;
    endpoints: Endpoints;
    refreshSkewSeconds: number;
  };
  auth: {
    deviceFlow: { enabled: boolean; label: string; pkce: boolean };
    browser: { enabled: boolean; label: string; ports: number[]; path: string };
    apiKey: { enabled: boolean; label: string; header: string; pattern: string };
    machine: { enabled: boolean; clientSecretMethod: ClientSecretMethod };
  };
  env: Record<string, string>;
  discovery: {
    path: string;
    metadataPath: string | null;
    timeoutMs: number;
    cacheTtlSeconds: number;
    allow: string[];
    deny: string[];
    static: Array<{ id: string }>;
  };
  models: ModelRule[];
  log: { file: string; maxBytes: number };
}

/** Where a value came from: the layer (`bundled presets/haiilo.json`, `file /x/opencode-oidc.config.json`, `env OKTA_ISSUER`, `plugin options`) and the field's place inside that layer's document. */
export interface Origin {
  source: string;
  pointer: string;
}
export type Origins = Record<string, Origin>;

export interface ResolvedPreset {
  preset: Preset;
  /** JSON pointer of each field set by a layer → the layer that set it last; fields the IdP profile filled in → `profile <name>`. */
  origins: Origins;
  /** Fields still `null` or absent that the preset needs, with how to supply each. */
  missing: MissingField[];
}

export interface MissingField {
  pointer: string;
  /** Environment variables mapped to this field by the preset. */
  envVars: string[];
}
