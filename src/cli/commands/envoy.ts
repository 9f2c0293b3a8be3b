/** `opencode-oidc envoy --preset ID --format gateway|raw [--target NAME] [--namespace NS] [--jwks-uri URL]`. */
import { renderEnvoy, requireJwtFields, resolveJwksUri } from "../../gateway/render.js";
import { WELL_KNOWN_PATH, wellKnownDocument } from "../../opencode/well-known.js";
import type { Preset } from "../../presets/types.js";
import { VERSION } from "../version.js";

export interface EnvoyCommandArgs {
  preset: Preset;
  format: "gateway" | "raw";
  target?: string;
  namespace?: string;
  jwksUri?: string;
  globalConfigFile: string;
  fetch?: typeof fetch;
  /** Where a warning about a risky but accepted setting goes (the CLI: stderr). */
  onWarning?: (message: string) => void;
  /** Leave out the route that answers `/.well-known/opencode`. */
  noWellKnown?: boolean;
}

/** The onboarding document the gateway serves, or why there is none (for a warning). */
function wellKnownFor(preset: Preset): { path: string; document: unknown } | string {
  if (!preset.auth.deviceFlow.enabled) return "the preset offers no device login";
  if (!preset.oidc.clientId) return "the preset has no oidc.clientId, which the login it runs needs";
  return { path: WELL_KNOWN_PATH, document: wellKnownDocument(preset, { version: VERSION }) };
}

/**
 * The Envoy configuration for the preset as commented YAML. Issuer and audience must be set; the JWKS
 * URI comes from `--jwks-uri`, the preset, or the issuer's discovery document (in that order).
 */
export async function envoyCommand(args: EnvoyCommandArgs): Promise<string> {
  const { preset, globalConfigFile } = args;
  let jwksUri = args.jwksUri;
  if (preset.auth.deviceFlow.enabled) {
    requireJwtFields(preset, globalConfigFile);
    jwksUri ??= await resolveJwksUri(preset, args.fetch ?? fetch, { globalConfigFile });
  }
  const wellKnown = args.noWellKnown ? undefined : wellKnownFor(preset);
  if (typeof wellKnown === "string" && preset.auth.deviceFlow.enabled) {
    args.onWarning?.(`No ${WELL_KNOWN_PATH} route: ${wellKnown}.`);
  }
  return renderEnvoy(preset, {
    format: args.format,
    globalConfigFile,
    ...(args.target !== undefined && { target: args.target }),
    ...(args.namespace !== undefined && { namespace: args.namespace }),
    ...(jwksUri !== undefined && { jwksUri }),
    ...(args.onWarning && { onWarning: args.onWarning }),
    ...(typeof wellKnown === "object" && { wellKnown }),
  });
}
