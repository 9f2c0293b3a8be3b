import { readFileSync } from "node:fs";
import { ErrorCode, OidcError } from "../../core/errors.js";
import { pollDeviceToken, startDeviceAuthorization } from "../../core/oauth/device.js";
import { decodeJwtClaims } from "../../core/oauth/tokens.js";
import { STORE_MARKER } from "../../opencode/constants.js";
import { openBrowser } from "../../runtime/browser.js";
import { registerWithOpencode } from "../../store/opencode-auth.js";
import { type Command, PRESET_OPTION } from "../command.js";
import { say } from "../io.js";
import { presetRuntime } from "../runtime.js";

export const login: Command = {
  name: "login",
  usage: "login [--preset ID] [--no-browser] [--api-key]",
  summary:
    "Log in with the device flow: shows a URL and a code (on stderr), opens the browser when there is one, and stores the tokens. With --api-key, reads an API key from stdin instead.",
  options: {
    ...PRESET_OPTION,
    browser: {
      type: "boolean",
      default: true,
      description: "Open the browser (--no-browser: only print the URL)",
    },
    "api-key": { type: "boolean", description: "Store an API key read from stdin instead of a device login" },
  },
  async run(ctx) {
    const rt = await presetRuntime(ctx);
    const { deviceFlow, apiKey } = rt.preset.auth;
    if (ctx.values["api-key"] ? !apiKey.enabled : !deviceFlow.enabled) {
      throw new OidcError(
        ErrorCode.USAGE,
        `Preset "${rt.preset.id}" does not offer ${ctx.values["api-key"] ? "API keys" : "the device login"}.`,
        {
          hint: ctx.values["api-key"]
            ? "Log in without --api-key."
            : "Use --api-key (reads the key from stdin).",
        },
      );
    }
    if (ctx.values["api-key"]) {
      const key = readFileSync(0, "utf8").trim();
      rt.checkApiKey(key);
      await rt.store.setApiKey(rt.preset.id, key);
      await registerWithOpencode(rt.paths.opencodeAuthFile, rt.preset.provider.id, {
        type: "api",
        key: STORE_MARKER,
      }).catch(() => false);
      say(`API key stored for ${rt.preset.name} in ${rt.paths.tokenFile} (mode 0600).`);
      return 0;
    }
    const settings = rt.requireOidc();
    await rt.store.checkWritable();
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once("SIGINT", onSignal);
    try {
      const auth = await startDeviceAuthorization(settings, { fetch: rt.fetch, signal: controller.signal });
      const url = auth.verificationUriComplete ?? auth.verificationUri;
      const minutes = Math.max(1, Math.round((auth.expiresAt - Date.now()) / 60_000));
      say(
        `To log in to ${rt.preset.name}, open this URL in a browser:\n\n    ${url}\n\nand confirm the code:  ${auth.userCode}\n\nThe code is valid for ${minutes} minutes.`,
      );
      if (ctx.values.browser !== false && (await openBrowser(url, ctx.env))) say("(Opened your browser.)");
      say("Waiting for approval…");
      const tokens = await pollDeviceToken(settings, auth, { fetch: rt.fetch, signal: controller.signal });
      await rt.session().save(tokens);
      await registerWithOpencode(rt.paths.opencodeAuthFile, rt.preset.provider.id, {
        type: "oauth",
        refresh: STORE_MARKER,
        access: STORE_MARKER,
        expires: tokens.expiresAt,
      }).catch(() => false);
      const claims = decodeJwtClaims(tokens.idToken) ?? decodeJwtClaims(tokens.accessToken) ?? {};
      const who = (claims.email as string | undefined) ?? (claims.sub as string | undefined) ?? "you";
      say(`Logged in to ${rt.preset.name} as ${who}. Tokens stored in ${rt.paths.tokenFile} (mode 0600).`);
      if (!tokens.refreshToken)
        say(
          "note: the identity provider issued no refresh token; you will need to log in again when the access token expires.",
        );
      return 0;
    } catch (error) {
      if (controller.signal.aborted) throw new OidcError(ErrorCode.ABORTED, "Login cancelled.");
      throw error;
    } finally {
      process.off("SIGINT", onSignal);
    }
  },
};
