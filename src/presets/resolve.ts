import { ErrorCode, OidcError } from "../core/errors.js";
import { BUNDLED, DEFAULT_PRESET_ID } from "./bundled.js";
import { findConfigFiles } from "./config-files.js";
import { applyDefaults } from "./defaults.js";
import { applyEnv } from "./env-overlay.js";
import { type Issue, presetInvalidError } from "./issues.js";
import { isPlainObject, type Origins, originOf, overlay } from "./merge.js";
import { profileValues } from "./profiles.js";
import type {
  ConfigDocument,
  MissingField,
  PresetDocument,
  ResolvedPreset,
  TokenStoreSetting,
} from "./types.js";

export interface Layer {
  /** Shown in errors and `presets show`: `bundled presets/haiilo.json`, `file /path`, `plugin options`. */
  source: string;
  document: unknown;
  /**
   * Whether the user vouches for this layer (bundled presets, the global config folder, plugin
   * options from the user's own opencode.json, extra layers named on the command line). An
   * untrusted layer (a config file found from the working folder, plugin options from a project's
   * opencode.json) may add presets and change model settings, but never where a trusted preset's
   * credentials go.
   */
  trusted?: boolean;
}

/**
 * The fields of a preset that decide where its credentials go or how they are obtained. An
 * untrusted layer cannot set them on a preset that a trusted layer defined.
 */
export const CREDENTIAL_FIELDS = [
  "/provider/baseURL",
  "/oidc",
  "/auth/apiKey/header",
  "/env",
  "/discovery/path",
  "/discovery/metadataPath",
] as const;

export interface ResolveOptions {
  /** Where the upward search for a config file starts (OpenCode's project folder, or the CLI's cwd). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The options object of the plugin entry in opencode.json. */
  pluginOptions?: unknown;
  /** Whether those options come from the user's own config (default: true). */
  pluginOptionsTrusted?: boolean;
  /** Skip the config-file search (tests, `presets validate`). */
  configFiles?: boolean;
  /** Extra layers above the config files and below plugin options (used by `presets validate`). */
  extraLayers?: Layer[];
}

export interface Resolution {
  presets: Map<string, ResolvedPreset>;
  defaultId: string;
  /** `tokenStore` from the user's global config file (never from a project or plugin options). */
  tokenStore?: TokenStoreSetting;
  /** Every problem found, in every layer. Layers with problems are left out of the result. */
  issues: Issue[];
  layers: string[];
}

interface Draft {
  doc: Record<string, unknown> & { id: string };
  origins: Origins;
}

/** Resolves presets from every layer, lowest to highest: bundled, global file, project file, plugin options, env. */
export async function resolvePresets(options: ResolveOptions = {}): Promise<Resolution> {
  const env = options.env ?? process.env;
  const layers: Layer[] = BUNDLED.map(({ file, preset }) => ({
    source: `bundled ${file}`,
    document: { presets: [preset] },
    trusted: true,
  }));
  const issues: Issue[] = [];
  let globalLayer: Layer | undefined;
  if (options.configFiles !== false) {
    const found = await findConfigFiles(options.cwd ?? process.cwd(), env);
    issues.push(...found.issues);
    if (found.global) {
      globalLayer = { source: `file ${found.global.filepath}`, document: found.global.config, trusted: true };
      layers.push(globalLayer);
    }
    if (found.project)
      layers.push({
        source: `file ${found.project.filepath}`,
        document: found.project.config,
        trusted: false,
      });
  }
  layers.push(...(options.extraLayers ?? []).map((layer) => ({ trusted: true, ...layer })));
  if (options.pluginOptions !== undefined && options.pluginOptions !== null) {
    const trusted = options.pluginOptionsTrusted ?? true;
    layers.push({
      source: trusted ? "plugin options" : "plugin options (from a project's opencode.json)",
      document: pluginOptionsDocument(options.pluginOptions),
      trusted,
    });
  }

  // The schema validators are the largest part of the plugin: load them only when something beyond
  // the bundled presets is in play (a config file, plugin options, or an environment override).
  const bundled = new Set(layers.slice(0, BUNDLED.length));
  const overridden = BUNDLED.some(({ preset }) => Object.keys(preset.env ?? {}).some((v) => env[v]?.trim()));
  const validate = layers.length > BUNDLED.length || overridden ? await import("./validate.js") : undefined;

  const drafts = new Map<string, Draft>();
  /** Presets a trusted layer defined: untrusted layers cannot redirect their credentials. */
  const trustedIds = new Set<string>();
  let defaultId = DEFAULT_PRESET_ID;
  let tokenStore: TokenStoreSetting | undefined;
  for (const layer of layers) {
    // Bundled presets are validated by the test suite, not on every start.
    const layerIssues =
      validate && !bundled.has(layer) ? await validate.checkConfigDocument(layer.document, layer.source) : [];
    const doc = layer.document as ConfigDocument;
    // `extends` may name a preset from a lower layer or one defined earlier in the same document.
    const known = new Set(drafts.keys());
    (Array.isArray(doc?.presets) ? doc.presets : []).forEach((preset, index) => {
      if (preset?.extends !== undefined && !known.has(preset.extends)) {
        layerIssues.push({
          source: layer.source,
          pointer: `/presets/${index}/extends`,
          message: `unknown preset "${preset.extends}"; known presets: ${[...known].join(", ")}`,
        });
      }
      if (typeof preset?.id === "string") known.add(preset.id);
    });
    if (layerIssues.length > 0) {
      issues.push(...layerIssues);
      continue;
    }
    if (doc.default !== undefined) defaultId = doc.default;
    // Where the tokens are kept is the user's own choice: a folder they merely work in cannot move them.
    if (doc.tokenStore !== undefined && layer === globalLayer) tokenStore = doc.tokenStore;
    else if (doc.tokenStore !== undefined) {
      issues.push({
        source: layer.source,
        pointer: "/tokenStore",
        message:
          "ignored: where tokens are kept is read only from your global config (~/.config/opencode-oidc/config.json) or OPENCODE_OIDC_TOKEN_STORE.",
        severity: "warning",
      });
    }
    (doc.presets ?? []).forEach((preset, index) => {
      const pointer = `/presets/${index}`;
      let applied = preset;
      // Overriding a trusted preset: its credential fields stay as the trusted layers set them. A new
      // preset is the folder's own (checked below: it may not borrow a trusted preset's IdP client).
      if (!layer.trusted && trustedIds.has(preset.id)) {
        applied = withoutCredentialFields(preset, (field) =>
          issues.push(untrusted(layer, pointer + field, `where the credentials of preset "${preset.id}" go`)),
        );
      }
      applyLayerPreset(drafts, applied, { source: layer.source, pointer });
      if (layer.trusted) trustedIds.add(preset.id);
    });
  }
  if (!drafts.has(defaultId)) {
    issues.push({
      source: "configuration",
      pointer: "/default",
      message: `default preset "${defaultId}" is not defined; known presets: ${[...drafts.keys()].join(", ")}`,
    });
    defaultId = drafts.has(DEFAULT_PRESET_ID)
      ? DEFAULT_PRESET_ID
      : ([...drafts.keys()][0] ?? DEFAULT_PRESET_ID);
  }

  const untrustedSources = new Set(layers.filter((l) => !l.trusted).map((l) => l.source));
  const trustedClients = new Map<string, string>();
  for (const id of trustedIds) {
    const draft = drafts.get(id);
    if (!draft) continue;
    const oidc = applyDefaults(draft.doc as PresetDocument).oidc;
    if (oidc.issuer && oidc.clientId) trustedClients.set(`${oidc.issuer}\n${oidc.clientId}`, id);
  }
  const presets = new Map<string, ResolvedPreset>();
  const providerIds = new Map<string, string>();
  for (const [id, draft] of drafts) {
    applyEnv(draft.doc, (draft.doc.env as Record<string, string> | undefined) ?? {}, env, draft.origins);
    const merged = validate
      ? await validate.checkPresetDocument(draft.doc, "", "", { patternSafety: false })
      : [];
    const finalIssues = merged.map((issue) => attribute(issue, draft.origins, id));
    for (const { pointer, profile } of profileValues(draft.doc)) {
      draft.origins[pointer] = { source: `profile ${profile}`, pointer };
    }
    const preset = applyDefaults(draft.doc as PresetDocument);
    if (!preset.provider.baseURL) {
      finalIssues.push({
        source: `preset ${id}`,
        pointer: "/provider/baseURL",
        message: "is required (the gateway's base URL, e.g. https://ai.example.com/v1)",
      });
    }
    const borrowed = borrowsTrustedClient(id, preset, draft.origins, trustedClients, untrustedSources);
    if (borrowed) finalIssues.push(borrowed);
    const clash = providerIds.get(preset.provider.id);
    if (clash) {
      finalIssues.push(
        attribute(
          {
            source: "",
            pointer: "/provider/id",
            message: `provider id "${preset.provider.id}" is already used by preset "${clash}"`,
          },
          draft.origins,
          id,
        ),
      );
    }
    if (finalIssues.length > 0) {
      issues.push(...finalIssues);
      continue;
    }
    providerIds.set(preset.provider.id, id);
    presets.set(id, { preset, origins: draft.origins, missing: missingFields(preset) });
  }
  return {
    presets,
    defaultId,
    ...(tokenStore !== undefined && { tokenStore }),
    issues: dedupe(issues),
    layers: layers.map((l) => l.source),
  };
}

/**
 * A preset from a working folder that signs in with a trusted preset's IdP client but sends the
 * tokens to a gateway of its own would turn the company's login into a token for someone else.
 */
function borrowsTrustedClient(
  id: string,
  preset: ResolvedPreset["preset"],
  origins: Origins,
  trustedClients: Map<string, string>,
  untrustedSources: Set<string>,
): Issue | undefined {
  const owner = trustedClients.get(`${preset.oidc.issuer}\n${preset.oidc.clientId}`);
  if (!owner || owner === id) return undefined;
  const redirected = Object.entries(origins).find(
    ([pointer, origin]) =>
      untrustedSources.has(origin.source) &&
      CREDENTIAL_FIELDS.some((field) => pointer === field || pointer.startsWith(`${field}/`)),
  );
  if (!redirected) return undefined;
  const [, origin] = redirected;
  return {
    source: origin.source,
    pointer: origin.pointer,
    message: `preset "${id}" signs in with the IdP client of your preset "${owner}" but a working folder sets where its credentials go; it is left out. Define it in your global config if you trust it.`,
  };
}

function untrusted(layer: Layer, pointer: string, what: string): Issue {
  return {
    source: layer.source,
    pointer,
    message: `ignored: a working folder's configuration may not change ${what}. Set it in your global config (~/.config/opencode-oidc/config.json), your own opencode.json's plugin options, or the environment.`,
    severity: "warning",
  };
}

/** A copy of `preset` without the fields that direct credentials; `removed` hears each one dropped. */
function withoutCredentialFields(preset: PresetDocument, removed: (pointer: string) => void): PresetDocument {
  const copy = structuredClone(preset) as unknown as Record<string, Record<string, unknown> | undefined>;
  // Redefining a trusted preset through `extends` is an override like any other.
  if (preset.extends === preset.id) {
    removed("/extends");
    delete copy.extends;
  }
  for (const field of CREDENTIAL_FIELDS) {
    const [, section, key, sub] = field.split("/") as [string, string, string?, string?];
    const parent = sub
      ? (copy[section]?.[key as string] as Record<string, unknown> | undefined)
      : copy[section];
    const name = sub ?? key;
    if (name === undefined) {
      if (copy[section] !== undefined) {
        removed(field);
        delete copy[section];
      }
    } else if (parent && name in parent) {
      removed(field);
      delete parent[name];
    }
  }
  return copy as unknown as PresetDocument;
}

/** Presets that inherit one env map report a bad variable once, not once per preset. */
function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.source}\u0000${issue.pointer}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function applyLayerPreset(
  drafts: Map<string, Draft>,
  preset: PresetDocument,
  origin: { source: string; pointer: string },
): void {
  let draft = drafts.get(preset.id);
  if (preset.extends !== undefined || !draft) {
    const base = preset.extends !== undefined ? drafts.get(preset.extends) : undefined;
    draft = {
      doc: base ? { ...structuredClone(base.doc), id: preset.id } : { id: preset.id },
      origins: base ? { ...base.origins } : {},
    };
    drafts.set(preset.id, draft);
  }
  overlay(draft.doc, preset as unknown as Record<string, unknown>, origin, draft.origins);
}

/** Plugin options are a config document; a bare `{preset: "id"}` selects the default preset. */
function pluginOptionsDocument(options: unknown): unknown {
  if (!isPlainObject(options)) return options;
  const { preset, ...rest } = options;
  if (typeof preset === "string" && rest.default === undefined) return { ...rest, default: preset };
  return rest;
}

function attribute(issue: Issue, origins: Origins, presetId: string): Issue {
  const origin = originOf(origins, issue.pointer);
  if (!origin) return { ...issue, source: `preset ${presetId}` };
  return { source: origin.source, pointer: origin.pointer, message: issue.message };
}

function missingFields(preset: ResolvedPreset["preset"]): MissingField[] {
  if (!preset.auth.deviceFlow.enabled && !preset.auth.browser.enabled) return [];
  const wanted: Array<[string, unknown]> = [
    ["/oidc/issuer", preset.oidc.issuer],
    ["/oidc/clientId", preset.oidc.clientId],
  ];
  if (preset.oidc.compat.tokenEndpointAuth !== "none")
    wanted.push(["/oidc/clientSecret", preset.oidc.clientSecret]);
  return wanted
    .filter(([, value]) => value === null || value === "")
    .map(([pointer]) => ({
      pointer,
      envVars: Object.keys(preset.env).filter((v) => preset.env[v] === pointer),
    }));
}

/** One preset by id, or a PRESET_NOT_FOUND / PRESET_INVALID error that lists what is wrong. */
export function pickPreset(resolution: Resolution, id?: string): ResolvedPreset {
  const wanted = id ?? resolution.defaultId;
  const found = resolution.presets.get(wanted);
  if (found) return found;
  // A preset can be absent because the layer defining it is broken: show those problems first.
  const errors = resolution.issues.filter((issue) => issue.severity !== "warning");
  if (errors.length > 0) throw presetInvalidError(errors);
  throw new OidcError(ErrorCode.PRESET_NOT_FOUND, `Unknown preset "${wanted}".`, {
    hint: `Known presets: ${[...resolution.presets.keys()].join(", ") || "(none)"}. \`opencode-oidc presets list\` shows them with their sources.`,
  });
}
