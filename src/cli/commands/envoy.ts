/** `opencode-oidc envoy --preset ID --format gateway|raw [--target NAME] [--namespace NS] [--jwks-uri URL]`. */
import { renderEnvoy, requireJwtFields, resolveJwksUri } from "../../gateway/render.js";
import type { Preset } from "../../presets/types.js";

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
  return renderEnvoy(preset, {
    format: args.format,
    globalConfigFile,
    ...(args.target !== undefined && { target: args.target }),
    ...(args.namespace !== undefined && { namespace: args.namespace }),
    ...(jwksUri !== undefined && { jwksUri }),
    ...(args.onWarning && { onWarning: args.onWarning }),
  });
}
