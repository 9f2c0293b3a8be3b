import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ErrorCode, OidcError } from "../../core/errors.js";
import { formatIssue, type Issue, isWarning, presetInvalidError } from "../../presets/issues.js";
import { pickPreset, resolvePresets } from "../../presets/resolve.js";
import type { Preset } from "../../presets/types.js";
import { checkConfigDocument, checkPresetDocument } from "../../presets/validate.js";
import type { Command } from "../command.js";
import { json, out, say } from "../io.js";

export const presets: Command = {
  name: "presets",
  usage: "presets list | presets show [ID] [--json] | presets validate FILE...",
  positionals: true,
  summary:
    "List, show and validate presets. list: every resolved preset and where it comes from. show: one resolved preset and the origin of each field set above the bundled preset. validate: check preset or config files (exit 0 valid, 1 with every error).",
  options: { json: { type: "boolean", description: "Print JSON (list, show)" } },
  async run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    if (sub === "validate") return validate(rest, ctx.cwd);
    if (rest.length > (sub === "show" ? 1 : 0)) {
      throw new OidcError(
        ErrorCode.USAGE,
        `presets ${sub ?? "list"} was given extra arguments: ${rest.join(" ")}.`,
        {
          hint: "Use presets list, presets show [ID] or presets validate FILE...",
        },
      );
    }
    const resolution = await resolvePresets({ cwd: ctx.cwd, env: ctx.env });
    const errors = resolution.issues.filter((issue) => !isWarning(issue));
    if (errors.length > 0) throw presetInvalidError(errors);
    for (const issue of resolution.issues) say(formatIssue(issue));
    if (sub === "list" || sub === undefined) {
      const rows = [...resolution.presets.values()].map(({ preset, origins, missing }) => ({
        id: preset.id,
        name: preset.name,
        provider: preset.provider.id,
        default: preset.id === resolution.defaultId,
        // Layers only; what an IdP profile filled in is shown by `presets show`.
        sources: [
          ...new Set(
            Object.values(origins)
              .map((o) => o.source)
              .filter((source) => !source.startsWith("profile ")),
          ),
        ],
        missing: missing.map((m) => m.pointer),
      }));
      if (ctx.values.json) json(rows);
      else
        out(
          rows
            .map(
              (r) =>
                `${r.default ? "*" : " "} ${r.id}\t${r.name}\tprovider ${r.provider}\t${r.sources.join(", ")}${r.missing.length ? `\tmissing ${r.missing.join(" ")}` : ""}`,
            )
            .join("\n"),
        );
      return 0;
    }
    if (sub === "show") {
      const picked = pickPreset(resolution, rest[0]);
      const { origins, missing } = picked;
      const preset = withoutSecrets(picked.preset);
      const overridden = Object.fromEntries(
        Object.entries(origins)
          .filter(([, origin]) => !origin.source.startsWith("bundled "))
          .sort(([a], [b]) => a.localeCompare(b)),
      );
      if (ctx.values.json) {
        json({
          preset,
          origins: overridden,
          missing: missing.map((m) => m.pointer),
          layers: resolution.layers,
        });
        return 0;
      }
      out(JSON.stringify(preset, null, 2));
      const fromProfile = Object.entries(overridden).filter(([, o]) => o.source.startsWith("profile "));
      const lines = Object.entries(overridden)
        .filter(([, o]) => !o.source.startsWith("profile "))
        .map(
          ([pointer, o]) =>
            `  ${pointer}  ←  ${o.source}${o.pointer && o.pointer !== pointer ? ` ${o.pointer}` : ""}`,
        );
      say(
        lines.length > 0
          ? `Overridden fields:\n${lines.join("\n")}`
          : "No field overridden above the bundled preset.",
      );
      if (fromProfile.length > 0)
        say(
          `Set by the IdP profile "${preset.oidc.profile}" (docs/idps.md):\n${fromProfile.map(([pointer]) => `  ${pointer}`).join("\n")}`,
        );
      if (missing.length > 0) say(`Missing: ${missing.map((m) => m.pointer).join(", ")}`);
      return 0;
    }
    throw new OidcError(ErrorCode.USAGE, `Unknown presets subcommand "${sub}".`, {
      hint: "Use list, show or validate.",
    });
  },
};

/** The preset as shown to a person: a client secret only as "(set)". */
function withoutSecrets(preset: Preset): Preset {
  if (preset.oidc.clientSecret === null) return preset;
  return { ...preset, oidc: { ...preset.oidc, clientSecret: "(set)" } };
}

/** A file is either a preset document (has `id`) or a config document (`presets`, `default`). */
async function validate(files: string[], cwd: string): Promise<number> {
  if (files.length === 0) throw new OidcError(ErrorCode.USAGE, "presets validate needs at least one FILE.");
  const issues: Issue[] = [];
  for (const file of files) {
    const path = resolve(cwd, file);
    const source = `file ${path}`;
    let document: unknown;
    try {
      document = JSON.parse(await readFile(path, "utf8"));
    } catch (error) {
      issues.push({ source, pointer: "", message: `cannot be read as JSON: ${(error as Error).message}` });
      continue;
    }
    const isPreset = typeof document === "object" && document !== null && "id" in document;
    const found = isPreset
      ? await checkPresetDocument(document, source)
      : await checkConfigDocument(document, source);
    if (found.length === 0) {
      // Structure is fine: resolve it over the bundled presets to catch unknown `extends` and missing fields.
      const layer = { source, document: isPreset ? { presets: [document] } : document };
      const resolution = await resolvePresets({ configFiles: false, env: {}, extraLayers: [layer] });
      found.push(
        ...resolution.issues.map((i) =>
          isPreset && i.pointer.startsWith("/presets/0")
            ? { ...i, pointer: i.pointer.slice("/presets/0".length) }
            : i,
        ),
      );
    }
    issues.push(...found);
    if (found.length === 0) say(`${path}: valid`);
  }
  for (const issue of issues) say(formatIssue(issue));
  return issues.length === 0 ? 0 : 1;
}
