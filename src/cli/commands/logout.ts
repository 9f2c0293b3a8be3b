import { STORE_MARKER } from "../../opencode/constants.js";
import { unregisterFromOpencode } from "../../store/opencode-auth.js";
import { type Command, PRESET_OPTION } from "../command.js";
import { say } from "../io.js";
import { presetRuntime } from "../runtime.js";

export const logout: Command = {
  name: "logout",
  usage: "logout [--preset ID]",
  summary:
    "Revoke the tokens at the identity provider (where it supports RFC 7009), delete them and any stored API key.",
  options: { ...PRESET_OPTION },
  async run(ctx) {
    const rt = await presetRuntime(ctx);
    const result = rt.oidc
      ? await rt.session().logout()
      : { hadSession: false, revoked: false, note: "no issuer configured" };
    const hadKey = (await rt.store.getApiKey(rt.preset.id)) !== undefined;
    if (hadKey) await rt.store.setApiKey(rt.preset.id, null);
    await unregisterFromOpencode(rt.paths.opencodeAuthFile, rt.preset.provider.id, STORE_MARKER).catch(
      () => false,
    );
    if (!result.hadSession && !hadKey) {
      say(`Not logged in to ${rt.preset.name}.`);
      return 0;
    }
    if (result.hadSession)
      say(
        result.revoked
          ? "Tokens revoked at the identity provider and deleted."
          : `Tokens deleted (not revoked: ${result.note}).`,
      );
    if (hadKey) say("Stored API key deleted.");
    return 0;
  },
};
