import { type Command, PRESET_OPTION } from "../command.js";
import { out } from "../io.js";
import { tenantFor } from "../tenant.js";

export const token: Command = {
  name: "token",
  usage: "token [--preset ID]",
  summary:
    'Print a valid access token (refreshed if needed) on stdout and nothing else, for `curl -H "Authorization: Bearer $(opencode-oidc token)"`.',
  options: { ...PRESET_OPTION },
  async run(ctx) {
    const tenant = await tenantFor(ctx);
    out(await tenant.session().getAccessToken());
    return 0;
  },
};
