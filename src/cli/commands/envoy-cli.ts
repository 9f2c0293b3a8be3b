import { join } from "node:path";
import { ErrorCode, OidcError } from "../../core/errors.js";
import { globalConfigDir } from "../../presets/config-files.js";
import { type Command, PRESET_OPTION } from "../command.js";
import { out, say } from "../io.js";
import { tenantFor } from "../tenant.js";
import { envoyCommand } from "./envoy.js";

export const envoy: Command = {
  name: "envoy",
  usage:
    "envoy [--preset ID] [--format gateway|raw] [--target NAME] [--namespace NS] [--jwks-uri URL] [--no-well-known]",
  summary:
    "Render Envoy configuration that accepts exactly the tokens this preset's logins get: an Envoy Gateway SecurityPolicy (--format gateway, default) or raw jwt_authn http_filters with the JWKS cluster (--format raw). The JWKS URI comes from the preset or the issuer's discovery document.",
  options: {
    ...PRESET_OPTION,
    format: {
      type: "string",
      default: "gateway",
      description: "gateway (SecurityPolicy) or raw (jwt_authn filter)",
    },
    target: { type: "string", description: "Name of the HTTPRoute (gateway) the policy attaches to" },
    namespace: { type: "string", description: "Kubernetes namespace of the policy" },
    "jwks-uri": {
      type: "string",
      description: "JWKS URI, instead of asking the issuer's discovery document",
    },
    "well-known": {
      type: "boolean",
      default: true,
      description: "Answer /.well-known/opencode from Envoy (--no-well-known: leave that route out)",
    },
  },
  async run(ctx) {
    const tenant = await tenantFor(ctx);
    const format = ctx.values.format;
    if (format !== "gateway" && format !== "raw") {
      throw new OidcError(ErrorCode.USAGE, `--format must be gateway or raw, not ${String(format)}.`);
    }
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    out(
      await envoyCommand({
        preset: tenant.preset,
        format,
        target: str(ctx.values.target),
        namespace: str(ctx.values.namespace),
        jwksUri: str(ctx.values["jwks-uri"]),
        globalConfigFile: join(globalConfigDir(ctx.env), "config.json"),
        onWarning: say,
        noWellKnown: ctx.values["well-known"] === false,
      }),
    );
    return 0;
  },
};
