import { ErrorCode, OidcError } from "../core/errors.js";
import { setAtPointer } from "./issues.js";
import type { Preset } from "./types.js";

const ABOUT: Record<string, { what: string; example: string }> = {
  "/oidc/issuer": { what: "OIDC issuer URL", example: "https://<your-okta-domain>/oauth2/<auth-server-id>" },
  "/oidc/clientId": { what: "OIDC client id", example: "<client-id>" },
  "/oidc/clientSecret": { what: "OIDC client secret", example: "<client-secret>" },
  "/oidc/audience": { what: "token audience", example: "api://<gateway>" },
};

export const PACKAGE_NAME = "@haiilo/opencode-haiilo-ai";

/**
 * An error a person can act on when fields a command needs are still unset: what is missing and
 * every way to supply it (environment variable, config file key, plugin option).
 */
export function missingFieldsError(preset: Preset, pointers: string[], globalConfigFile: string): OidcError {
  const fields = pointers.map((p) => `${ABOUT[p]?.what ?? p} (${p.slice(1).replace(/\//g, ".")})`);
  const envLines = pointers
    .map((p) => {
      const variable = Object.keys(preset.env).find((v) => preset.env[v] === p);
      return variable ? `${variable}=${ABOUT[p]?.example ?? "<value>"}` : undefined;
    })
    .filter((line): line is string => line !== undefined);
  const patch: Record<string, unknown> = { id: preset.id };
  for (const pointer of pointers) setAtPointer(patch, pointer, ABOUT[pointer]?.example ?? "<value>");
  const config = JSON.stringify({ presets: [patch] });
  const ways = [
    envLines.length > 0 ? `  - environment variables: ${envLines.join(" ")}` : undefined,
    `  - your global config file ${globalConfigFile}:\n      ${config}`,
    `  - plugin options in your own ~/.config/opencode/opencode.json:\n      "plugin": [["${PACKAGE_NAME}", ${config}]]`,
  ].filter(Boolean);
  return new OidcError(
    ErrorCode.PRESET_INCOMPLETE,
    `Preset "${preset.id}" has no ${fields.join(" and no ")} yet.`,
    {
      hint: `Supply ${pointers.length > 1 ? "them" : "it"} in any one of these ways:\n${ways.join("\n")}`,
      details: { preset: preset.id, pointers },
    },
  );
}
