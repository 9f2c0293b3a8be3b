import { MODEL_DISCOVERY } from "../../core/defaults.js";
import { isOidcError } from "../../core/errors.js";
import { plainText } from "../../core/plain-text.js";
import { listModels, type ModelListing } from "../../tenant/model-listing.js";
import { type Command, PRESET_OPTION } from "../command.js";
import { forCli } from "../hints.js";
import { json, out, say } from "../io.js";
import { tenantFor } from "../tenant.js";

/** Where the listed models come from when the gateway did not answer. */
function origin(listing: ModelListing): string {
  return listing.source === "cache"
    ? `the list cached at ${new Date(listing.fetchedAt ?? 0).toISOString()}`
    : "the preset's static list";
}

export const models: Command = {
  name: "models",
  usage: "models [--preset ID] [--json] [--cached]",
  summary:
    "List the gateway's models as OpenCode will see them (names, limits, capabilities), with the preset's model settings applied.",
  options: {
    ...PRESET_OPTION,
    json: { type: "boolean", description: "Print OpenCode's model map as JSON" },
    cached: {
      type: "boolean",
      description: "Answer from the cache when it is fresh instead of asking the gateway",
    },
  },
  async run(ctx) {
    const tenant = await tenantFor(ctx);
    const listing = await listModels(tenant, {
      refresh: !ctx.values.cached,
      timeoutMs: MODEL_DISCOVERY.cliTimeoutMs,
    });
    // Nothing to show: the failure is the answer (message, hint and code once, exit 1).
    if (listing.source === "none") throw listing.failure ?? new Error(listing.problem ?? "No models known.");
    if (listing.problem) {
      // A list from elsewhere: say once why the gateway was not asked, and what is shown instead.
      const failure = forCli(
        listing.failure,
        typeof ctx.values.preset === "string" ? ctx.values.preset : undefined,
      );
      const hint = isOidcError(failure) && failure.hint ? `\n${failure.hint}` : "";
      say(`warning: ${listing.problem} Showing ${origin(listing)}.${hint}`);
    } else if (listing.source === "cache") {
      say(`(models from ${origin(listing)})`);
    }
    if (ctx.values.json) {
      json(listing.models);
      return 0;
    }
    const rows = Object.entries(listing.models).map(([id, m]) => {
      const limit = m.limit ? `${m.limit.context || "?"}/${m.limit.output || "?"}` : "-";
      const caps = [m.tool_call && "tools", m.reasoning && "reasoning", m.attachment && "attachments"]
        .filter(Boolean)
        .join(",");
      // Ids and names come from the gateway: made plain, none can add a row or an escape.
      return `${tenant.preset.provider.id}/${plainText(id) ?? ""}\t${plainText(m.name) ?? ""}\t${limit}\t${caps}`;
    });
    if (rows.length > 0) out(rows.join("\n"));
    return 0;
  },
};
