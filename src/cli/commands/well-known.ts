/** `opencode-oidc well-known [--preset ID] [--plugin SPEC] [--json]`: OpenCode's onboarding document. */
import { ErrorCode, OidcError } from "../../core/errors.js";
import { WELL_KNOWN_PATH, wellKnownDocument } from "../../opencode/well-known.js";
import { type Command, PRESET_OPTION } from "../command.js";
import { out, say } from "../io.js";
import { tenantFor } from "../tenant.js";
import { VERSION } from "../version.js";

export const wellKnown: Command = {
  name: "well-known",
  usage: "well-known [--preset ID] [--plugin SPEC] [--json]",
  summary:
    "Print the document to serve at <gateway>/.well-known/opencode. With it, `opencode auth login <gateway>` installs the plugin with this preset and runs the device login; the plugin refreshes from then on. `opencode-oidc envoy` serves the same document from the gateway.",
  options: {
    ...PRESET_OPTION,
    plugin: {
      type: "string",
      description: `Plugin spec in config.plugin (default: this package at its version, e.g. a file:// folder in tests)`,
    },
    json: { type: "boolean", description: "Only the JSON (one line), no explanation on stderr" },
  },
  async run(ctx) {
    const tenant = await tenantFor(ctx);
    const { preset } = tenant;
    if (!preset.auth.deviceFlow.enabled) {
      throw new OidcError(
        ErrorCode.USAGE,
        `Preset "${preset.id}" offers no device login, which the one-command onboarding runs.`,
        {
          hint: "People connect with an API key instead: opencode auth login, then the preset's API key method.",
        },
      );
    }
    tenant.requireOidc();
    const doc = wellKnownDocument(preset, {
      version: VERSION,
      ...(typeof ctx.values.plugin === "string" && { pluginSpec: ctx.values.plugin }),
    });
    if (ctx.values.json) {
      out(JSON.stringify(doc));
      return 0;
    }
    out(JSON.stringify(doc, null, 2));
    const origin = new URL(preset.provider.baseURL).origin;
    say(
      [
        `Serve this as application/json at ${origin}${WELL_KNOWN_PATH}, without authentication`,
        "(`opencode-oidc envoy` renders a route that does). Then everyone connects with:",
        "",
        `    opencode auth login ${origin}`,
      ].join("\n"),
    );
    return 0;
  },
};
