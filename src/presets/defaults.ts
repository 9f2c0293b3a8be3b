import { PRESET_DEFAULTS as D } from "../core/defaults.js";
import { STRICT_COMPAT } from "../core/oauth/compat.js";
import { DEFAULT_PROFILE, withProfile } from "./profiles.js";
import type { AudienceParam, Preset, PresetDocument } from "./types.js";

/**
 * The preset schema's defaults applied to a document (the values live in core/defaults.ts), after
 * the IdP profile has filled the fields it knows better (profiles.ts).
 */
export function applyDefaults(document: PresetDocument): Preset {
  const doc = withProfile(document);
  const id = doc.id;
  const name = doc.name ?? doc.provider?.name ?? id;
  return {
    id,
    name,
    provider: {
      id: doc.provider?.id ?? id,
      name: doc.provider?.name ?? name,
      npm: doc.provider?.npm ?? D.providerNpm,
      baseURL: doc.provider?.baseURL ?? "",
    },
    oidc: {
      profile: doc.oidc?.profile ?? DEFAULT_PROFILE,
      issuer: doc.oidc?.issuer ?? null,
      clientId: doc.oidc?.clientId ?? null,
      clientSecret: doc.oidc?.clientSecret ?? null,
      audience: doc.oidc?.audience ?? null,
      audienceParam: doc.oidc?.audienceParam ?? (D.audienceParam as AudienceParam),
      scopes: doc.oidc?.scopes ?? [...D.scopes],
      compat: { ...STRICT_COMPAT, ...doc.oidc?.compat },
      endpoints: { ...doc.oidc?.endpoints },
      refreshSkewSeconds: doc.oidc?.refreshSkewSeconds ?? D.refreshSkewSeconds,
    },
    auth: {
      deviceFlow: {
        enabled: doc.auth?.deviceFlow?.enabled ?? true,
        label: doc.auth?.deviceFlow?.label ?? D.deviceFlowLabel,
        pkce: doc.auth?.deviceFlow?.pkce ?? false,
      },
      browser: {
        enabled: doc.auth?.browser?.enabled ?? false,
        label: doc.auth?.browser?.label ?? D.browserLabel,
        ports: [...(doc.auth?.browser?.ports ?? [])],
        path: doc.auth?.browser?.path ?? D.callbackPath,
      },
      apiKey: {
        enabled: doc.auth?.apiKey?.enabled ?? true,
        label: doc.auth?.apiKey?.label ?? D.apiKeyLabel,
        header: (doc.auth?.apiKey?.header ?? D.apiKeyHeader).toLowerCase(),
        pattern: doc.auth?.apiKey?.pattern ?? D.apiKeyPattern,
      },
      machine: {
        enabled: doc.auth?.machine?.enabled ?? true,
        clientSecretMethod: doc.auth?.machine?.clientSecretMethod ?? D.clientSecretMethod,
      },
    },
    env: { ...doc.env },
    discovery: {
      path: doc.discovery?.path ?? D.discoveryPath,
      metadataPath: doc.discovery?.metadataPath === undefined ? D.metadataPath : doc.discovery.metadataPath,
      timeoutMs: doc.discovery?.timeoutMs ?? D.discoveryTimeoutMs,
      cacheTtlSeconds: doc.discovery?.cacheTtlSeconds ?? D.cacheTtlSeconds,
      allow: doc.discovery?.allow ?? [],
      deny: doc.discovery?.deny ?? [],
      static: doc.discovery?.static ?? [],
    },
    models: doc.models ?? [],
    log: { file: doc.log?.file ?? `${id}.log`, maxBytes: doc.log?.maxBytes ?? D.logMaxBytes },
  };
}
