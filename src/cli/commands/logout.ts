import { unregisterLogin } from "../../opencode/auth-file.js";
import type { Tenant } from "../../tenant/tenant.js";
import { type Command, PLUGIN_OPTIONS_OPTION, PRESET_OPTION } from "../command.js";
import { say } from "../io.js";
import { tenantFor } from "../tenant.js";

/** A machine identity's cached token goes too (nothing to revoke: the next request obtains a new one). */
async function forgetMachineToken(tenant: Tenant): Promise<void> {
  let identity: ReturnType<Tenant["machineIdentity"]>;
  try {
    identity = tenant.machineIdentity();
  } catch {
    return;
  }
  if (!identity || !tenant.preset.oidc.issuer) return;
  const { key } = tenant.machineSession();
  const had = await tenant.store.transact(key, async (current) => ({
    next: null,
    result: current !== undefined,
  }));
  if (had)
    say(
      `Deleted the machine identity's token (from ${identity.variables.join(", ")}); while those variables are set, the next request gets a new one.`,
    );
}

export const logout: Command = {
  name: "logout",
  usage: "logout [--preset ID] [--plugin-options JSON]",
  summary:
    "Revoke the tokens at the identity provider (where it supports RFC 7009), delete them and any stored API key.",
  options: { ...PRESET_OPTION, ...PLUGIN_OPTIONS_OPTION },
  async run(ctx) {
    const tenant = await tenantFor(ctx);
    const result = tenant.oidc
      ? await tenant.loginSession().logout()
      : { hadSession: false, revoked: false, note: "no issuer configured" };
    const hadKey = (await tenant.store.getApiKey(tenant.preset.id)) !== undefined;
    if (hadKey) await tenant.store.setApiKey(tenant.preset.id, null);
    await unregisterLogin(ctx.env, tenant.preset.provider.id);
    if (!result.hadSession && !hadKey) {
      say(`Not logged in to ${tenant.preset.name}.`);
      await forgetMachineToken(tenant);
      return 0;
    }
    if (result.hadSession)
      say(
        result.revoked
          ? "Tokens revoked at the identity provider and deleted."
          : `Tokens deleted (not revoked: ${result.note}).`,
      );
    if (hadKey) say("Stored API key deleted.");
    await forgetMachineToken(tenant);
    return 0;
  },
};
