/**
 * IdP profiles (`oidc.profile`): the fields each vendor needs set differently from the strict,
 * RFC-shaped defaults. A profile only fills fields that no layer set, so every one of them can still
 * be overridden field by field. docs/idps.md explains each entry.
 */

import { PRESET_DEFAULTS } from "../core/defaults.js";
import { pointerParts, setAtPointer } from "./issues.js";
import { isPlainObject } from "./merge.js";
import type { Profile } from "./types.js";

export type { Profile };
export const PROFILES = [
  "generic",
  "okta",
  "entra",
  "auth0",
  "keycloak",
  "google",
  "ping",
  "glewlwyd",
] as const satisfies readonly Profile[];
export const DEFAULT_PROFILE: Profile = PRESET_DEFAULTS.profile;

type Json = Record<string, unknown>;

/** A field a profile sets: a fixed value, or one derived from the preset (undefined: leave unset). */
export interface ProfileField {
  pointer: string;
  value?: unknown;
  derive?: (doc: Json) => unknown;
}

/** `https://login.microsoftonline.com/{tenant}/v2.0` → the v1 access token issuer `https://sts.windows.net/{tenant}/`. */
export function entraV1Issuer(issuer: unknown): string | undefined {
  if (typeof issuer !== "string") return undefined;
  const match = /^https:\/\/login\.microsoftonline\.com\/([A-Za-z0-9.-]{1,100})\/v2\.0\/?$/.exec(issuer);
  return match ? `https://sts.windows.net/${match[1]}/` : undefined;
}

const field = (pointer: string, value: unknown): ProfileField => ({ pointer, value });
const derived = (pointer: string, derive: (doc: Json) => unknown): ProfileField => ({ pointer, derive });

/**
 * What each profile sets beyond the generic defaults (audienceParam `none`, scopes with
 * `offline_access`, strict compat, no PKCE on the device request). Profiles with nothing here follow the RFCs where the engine
 * meets them; their differences are on the IdP side (docs/idps.md).
 */
export const PROFILE_FIELDS: Record<Profile, readonly ProfileField[]> = {
  generic: [],
  // A custom authorization server decides the audience itself; its answers follow RFC 8628.
  okta: [],
  entra: [
    // v2 refuses `resource`: the API is a scope, `api://<app>/.default`.
    field("/oidc/audienceParam", "scope"),
    // The v1 endpoint answers `verification_url` and numbers as strings; v2 is standard (harmless there).
    field("/oidc/compat/verificationUrl", true),
    field("/oidc/compat/refreshScope", true),
    // An API registration issues v1 tokens unless its manifest says requestedAccessTokenVersion: 2.
    derived("/oidc/compat/accessTokenIssuer", (doc) => entraV1Issuer(get(doc, "/oidc/issuer"))),
  ],
  // The API is chosen with `audience`; without it the access token is opaque.
  auth0: [field("/oidc/audienceParam", "audience")],
  // The audience comes from an Audience mapper on a client scope, not from a request parameter.
  // A client with a PKCE method set refuses a device request without a code challenge; sending one
  // is harmless to a client without it, so the device flow always sends one.
  keycloak: [field("/auth/deviceFlow/pkce", true)],
  google: [
    // Google refuses `offline_access`; the device flow returns a refresh token anyway.
    field("/oidc/scopes", ["openid", "profile", "email"]),
    field("/oidc/compat/verificationUrl", true),
    field("/oidc/compat/tokenEndpointAuth", "client_secret_post"),
  ],
  // PingFederate: the access token manager decides audience and format (reference tokens by default).
  ping: [],
  // glewlwyd: the audience is an RFC 8707 resource (else `aud` is the scope list), and a public
  // client revokes with its own delete_token grant (its RFC 7009 endpoint wants a client secret).
  glewlwyd: [
    field("/oidc/audienceParam", "resource"),
    field("/oidc/compat/revocation", "delete-token-grant"),
  ],
};

export function isProfile(value: unknown): value is Profile {
  return typeof value === "string" && (PROFILES as readonly string[]).includes(value);
}

function get(doc: Json, pointer: string): unknown {
  let node: unknown = doc;
  for (const part of pointerParts(pointer)) node = isPlainObject(node) ? node[part] : undefined;
  return node;
}

/** The profile's values for the fields `doc` leaves unset, in table order. */
export function profileValues(doc: Json): Array<{ pointer: string; value: unknown; profile: Profile }> {
  const oidc = isPlainObject(doc.oidc) ? doc.oidc : {};
  const profile = isProfile(oidc.profile) ? oidc.profile : DEFAULT_PROFILE;
  const values: Array<{ pointer: string; value: unknown; profile: Profile }> = [];
  for (const entry of PROFILE_FIELDS[profile]) {
    if (get(doc, entry.pointer) !== undefined) continue;
    const value = entry.derive ? entry.derive(doc) : structuredClone(entry.value);
    if (value !== undefined) values.push({ pointer: entry.pointer, value, profile });
  }
  return values;
}

/** A copy of `doc` with the profile's values filled in where no layer set the field. */
export function withProfile<T extends object>(doc: T): T {
  const copy = structuredClone(doc) as Json;
  for (const { pointer, value } of profileValues(copy)) setAtPointer(copy, pointer, value);
  return copy as T;
}
