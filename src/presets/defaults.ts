import type { Preset, PresetDocument } from "./types.js";

/** Every default of the preset schema, in one place. */
export function applyDefaults(doc: PresetDocument): Preset {
  const id = doc.id;
  const name = doc.name ?? doc.provider?.name ?? id;
  return {
    id,
    name,
    provider: {
      id: doc.provider?.id ?? id,
      name: doc.provider?.name ?? name,
      npm: doc.provider?.npm ?? "@ai-sdk/openai-compatible",
      baseURL: doc.provider?.baseURL ?? "",
    },
    oidc: {
      issuer: doc.oidc?.issuer ?? null,
      clientId: doc.oidc?.clientId ?? null,
      audience: doc.oidc?.audience ?? null,
      audienceParam: doc.oidc?.audienceParam ?? "none",
      scopes: doc.oidc?.scopes ?? ["openid", "profile", "email", "offline_access"],
      endpoints: { ...doc.oidc?.endpoints },
      refreshSkewSeconds: doc.oidc?.refreshSkewSeconds ?? 300,
    },
    auth: {
      deviceFlow: {
        enabled: doc.auth?.deviceFlow?.enabled ?? true,
        label: doc.auth?.deviceFlow?.label ?? "Okta Device Flow",
      },
      apiKey: {
        enabled: doc.auth?.apiKey?.enabled ?? true,
        label: doc.auth?.apiKey?.label ?? "Manual API Key",
        header: (doc.auth?.apiKey?.header ?? "x-api-key").toLowerCase(),
        pattern: doc.auth?.apiKey?.pattern ?? "^sk-",
      },
    },
    env: { ...doc.env },
    discovery: {
      path: doc.discovery?.path ?? "/models",
      metadataPath: doc.discovery?.metadataPath === undefined ? "/model/info" : doc.discovery.metadataPath,
      timeoutMs: doc.discovery?.timeoutMs ?? 1500,
      cacheTtlSeconds: doc.discovery?.cacheTtlSeconds ?? 3600,
      allow: doc.discovery?.allow ?? [],
      deny: doc.discovery?.deny ?? [],
      static: doc.discovery?.static ?? [],
    },
    models: doc.models ?? [],
    log: { file: doc.log?.file ?? `${id}.log`, maxBytes: doc.log?.maxBytes ?? 1048576 },
  };
}
