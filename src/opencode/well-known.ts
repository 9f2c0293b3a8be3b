/**
 * OpenCode's company onboarding document, served at `<gateway>/.well-known/opencode`. Its shape, as
 * OpenCode 1.18.33 reads it (docs/onboarding.md has the details):
 *
 * - `opencode auth login <url>` strips trailing slashes from `<url>`, fetches
 *   `<url>/.well-known/opencode`, spawns `auth.command` (an argv array, stdout piped, stderr to the
 *   user) and on exit 0 stores `{"type":"wellknown","key":auth.env,"token":<stdout, trimmed>}` in
 *   auth.json under `<url>`.
 * - Every start fetches the document again for each such entry, sets the variable `auth.env` to the
 *   stored token for `{env:…}` substitution, and merges `config` (and an optional
 *   `remote_config: {url, headers}`, not used here) as global config. The token is never refreshed.
 *
 * Here `config` installs the plugin (with the tenant's preset in its options when the plugin does not
 * know it already) and `auth.command` runs this package's device login in its well-known mode: the
 * person sees the URL and code on stderr, stdout carries only a marker, and from then on the plugin's
 * own session serves requests and refreshes, not the static token.
 */

import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { BUNDLED, DEFAULT_PRESET_ID } from "../presets/bundled.js";
import { globalConfigDir } from "../presets/config-files.js";
import { applyDefaults } from "../presets/defaults.js";
import type { ConfigDocument, Preset, PresetDocument } from "../presets/types.js";
import { ensurePrivateDir, writePrivateFile } from "../store/private-files.js";
import { STORE_MARKER } from "./auth-file.js";
import { PLUGIN_ID } from "./constants.js";

export const WELL_KNOWN_PATH = "/.well-known/opencode";
/** `auth.env`: the variable OpenCode sets to the stored token. It only ever holds the marker. */
export const WELL_KNOWN_ENV = "OPENCODE_OIDC_WELL_KNOWN";
/** What `login --well-known` prints on stdout, which OpenCode stores as the well-known token. */
export const WELL_KNOWN_MARKER = STORE_MARKER;
/** The CLI's command name inside the package (its `bin`). */
const CLI_BIN = "opencode-oidc";

export type PluginEntry = string | [string, ConfigDocument | { preset: string }];

export interface WellKnownDocument {
  auth: { command: string[]; env: string };
  config: { $schema: string; plugin: PluginEntry[] };
}

export interface WellKnownOptions {
  /** This package's version: the plugin and the login are pinned to it. */
  version: string;
  /** The plugin spec in `config.plugin`. Default `@haiilo/opencode-haiilo-ai@<version>`. */
  pluginSpec?: string;
  /** The login command instead of `npx … opencode-oidc` (tests run a local build); the arguments follow. */
  loginCommand?: string[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The fields of `value` that differ from `base` (objects key by key, anything else as a whole). */
function difference(base: unknown, value: unknown): unknown {
  if (isObj(base) && isObj(value)) {
    const out: Json = {};
    for (const [key, v] of Object.entries(value)) {
      const d = difference(base[key], v);
      if (d !== undefined) out[key] = d;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return JSON.stringify(base) === JSON.stringify(value) ? undefined : structuredClone(value);
}

/**
 * The plugin options that give an employee's plugin this exact preset, or undefined when the plugin
 * resolves it by itself (a bundled preset used as shipped). Only what differs from the bundled base
 * is written; `log` (paths of this machine) and `env` (the variable mapping) are left to the plugin.
 */
export function presetOptions(preset: Preset): ConfigDocument | { preset: string } | undefined {
  const own = BUNDLED.find((b) => b.preset.id === preset.id);
  const baseDoc = own ?? BUNDLED.find((b) => b.preset.id === DEFAULT_PRESET_ID);
  if (!baseDoc) throw new Error(`no bundled preset ${DEFAULT_PRESET_ID}`);
  const { log: _log, env: _env, id: _id, ...fields } = preset;
  const { log: _l, env: _e, id: _i, ...baseFields } = applyDefaults(baseDoc.preset);
  const changed = (difference(baseFields, fields) ?? {}) as Omit<PresetDocument, "id">;
  if (own && Object.keys(changed).length === 0) {
    return preset.id === DEFAULT_PRESET_ID ? undefined : { preset: preset.id };
  }
  const doc: PresetDocument = { id: preset.id, ...(own ? {} : { extends: baseDoc.preset.id }), ...changed };
  return { default: preset.id, presets: [doc] };
}

/** The `/.well-known/opencode` document that onboards a person to `preset` with one command. */
export function wellKnownDocument(preset: Preset, options: WellKnownOptions): WellKnownDocument {
  const pkg = `${PLUGIN_ID}@${options.version}`;
  const pluginOptions = presetOptions(preset);
  const spec = options.pluginSpec ?? pkg;
  const login = [
    "login",
    "--well-known",
    "--preset",
    preset.id,
    ...(pluginOptions ? ["--plugin-options", JSON.stringify(pluginOptions)] : []),
  ];
  return {
    auth: {
      command: options.loginCommand
        ? [...options.loginCommand, ...login]
        : ["npx", "--yes", `--package=${pkg}`, "--", CLI_BIN, ...login],
      env: WELL_KNOWN_ENV,
    },
    config: {
      $schema: "https://opencode.ai/config.json",
      plugin: [pluginOptions ? [spec, pluginOptions] : spec],
    },
  };
}

/**
 * Where `login --well-known` records the plugin options it logged in with. The document reaches
 * OpenCode's config from a URL, not from a file of the user's, so the plugin's trust check
 * (config-origin.ts) could not tell it from a project's opencode.json; the person's own
 * `opencode auth login <gateway>` is what makes those options trusted, and this record (in the
 * user's global config folder) is how the plugin knows.
 */
export function wellKnownRecordFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(globalConfigDir(env), "well-known.json");
}

type WellKnownRecord = { presets: Record<string, unknown> };

function parseRecord(text: string): WellKnownRecord {
  const data = JSON.parse(text) as Partial<WellKnownRecord>;
  return { presets: isObj(data.presets) ? data.presets : {} };
}

/** Records the options a well-known login used for `presetId` (the latest login per preset wins). */
export async function recordWellKnownOptions(
  env: NodeJS.ProcessEnv,
  presetId: string,
  options: unknown,
): Promise<void> {
  const file = wellKnownRecordFile(env);
  let record: WellKnownRecord = { presets: {} };
  try {
    record = parseRecord(await readFile(file, "utf8"));
  } catch {
    // absent or unreadable: start a new record
  }
  record.presets[presetId] = options;
  await ensurePrivateDir(dirname(file));
  await writePrivateFile(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** The plugin options well-known logins recorded, as the plugin compares them (JSON text). */
export function recordedWellKnownOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  try {
    return Object.values(parseRecord(readFileSync(wellKnownRecordFile(env), "utf8")).presets).map((o) =>
      JSON.stringify(o),
    );
  } catch {
    return [];
  }
}
