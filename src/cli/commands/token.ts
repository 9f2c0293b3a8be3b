import { type Command, PRESET_OPTION } from "../command.js";
import { out } from "../io.js";
import { presetRuntime } from "../runtime.js";

export const token: Command = {
  name: "token",
  usage: "token [--preset ID]",
  summary:
    'Print a valid access token (refreshed if needed) on stdout and nothing else, for `curl -H "Authorization: Bearer $(opencode-oidc token)"`.',
  options: { ...PRESET_OPTION },
  async run(ctx) {
    const rt = await presetRuntime(ctx);
    out(await rt.session().getAccessToken());
    return 0;
  },
};
