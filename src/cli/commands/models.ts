import { MODEL_DISCOVERY } from "../../core/defaults.js";
import { listModels } from "../../tenant/model-listing.js";
import { type Command, PRESET_OPTION } from "../command.js";
import { json, out, say } from "../io.js";
import { tenantFor } from "../tenant.js";

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
    if (listing.problem) say(`warning: ${listing.problem}`);
    if (listing.source !== "gateway")
      say(
        `(models from ${listing.source === "cache" ? `the cache of ${new Date(listing.fetchedAt ?? 0).toISOString()}` : listing.source === "static" ? "the preset's static list" : "nowhere: none known"})`,
      );
    if (ctx.values.json) {
      json(listing.models);
      return 0;
    }
    const rows = Object.entries(listing.models).map(([id, m]) => {
      const limit = m.limit ? `${m.limit.context || "?"}/${m.limit.output || "?"}` : "-";
      const caps = [m.tool_call && "tools", m.reasoning && "reasoning", m.attachment && "attachments"]
        .filter(Boolean)
        .join(",");
      return `${tenant.preset.provider.id}/${id}\t${m.name}\t${limit}\t${caps}`;
    });
    if (rows.length > 0) out(rows.join("\n"));
    return rows.length > 0 || listing.source === "gateway" ? 0 : 1;
  },
};
