import type { AuthHook } from "@opencode-ai/plugin";
import { describeError, isOidcError } from "../core/errors.js";
import { openBrowser } from "../runtime/browser.js";
import type { PresetRuntime } from "../runtime/preset-runtime.js";
import { STORE_MARKER } from "./constants.js";

type Method = AuthHook["methods"][number];

function minutesLeft(expiresAt: number): number {
  return Math.max(1, Math.round((expiresAt - Date.now()) / 60_000));
}

/** "Okta Device Flow": the URL and code through OpenCode, polling through the engine, tokens in the store. */
export function deviceMethod(rt: PresetRuntime, label: string, forOtherProvider: boolean): Method {
  return {
    type: "oauth",
    label,
    async authorize() {
      const settings = rt.requireOidc();
      const { pollDeviceToken, startDeviceAuthorization } = await import("../core/oauth/device.js");
      await rt.store.checkWritable().catch((error: unknown) => {
        throw new Error(describeError(error));
      });
      const auth = await startDeviceAuthorization(settings, { fetch: rt.fetch }).catch((error: unknown) => {
        rt.logger.log("error", "device authorization failed", { error: describeError(error) });
        throw new Error(describeError(error));
      });
      const url = auth.verificationUriComplete ?? auth.verificationUri;
      rt.logger.log("info", "device login started", {
        verificationUri: auth.verificationUri,
        expiresInMin: minutesLeft(auth.expiresAt),
      });
      void openBrowser(url);
      return {
        url,
        method: "auto" as const,
        instructions: `Confirm the code ${auth.userCode} at ${auth.verificationUri} (valid for ${minutesLeft(auth.expiresAt)} min).`,
        async callback() {
          try {
            const tokens = await pollDeviceToken(settings, auth, { fetch: rt.fetch });
            await rt.session().save(tokens);
            rt.logger.log("info", "device login complete", {
              expiresAt: new Date(tokens.expiresAt).toISOString(),
            });
            return {
              type: "success" as const,
              ...(forOtherProvider && { provider: rt.preset.provider.id }),
              refresh: STORE_MARKER,
              access: STORE_MARKER,
              expires: tokens.expiresAt,
            };
          } catch (error) {
            rt.logger.log("error", "device login failed", {
              code: isOidcError(error) ? error.code : "unknown",
              error: describeError(error),
            });
            return { type: "failed" as const };
          }
        },
      };
    },
  };
}

/**
 * "Manual API Key": OpenCode asks for the key with its own masked prompt and stores it in auth.json.
 * (OpenCode does not pass that key to `authorize`, and a plugin prompt would echo it on screen, so
 * the preset's pattern is checked where the key is used: every request, with a clear error.)
 */
export function apiKeyMethod(label: string): Method {
  return { type: "api", label };
}

export function methodsFor(runtimes: PresetRuntime[]): Method[] {
  const methods: Method[] = [];
  runtimes.forEach((rt, index) => {
    const other = index > 0;
    const prefix = other ? `${rt.preset.name}: ` : "";
    if (rt.preset.auth.deviceFlow.enabled)
      methods.push(deviceMethod(rt, prefix + rt.preset.auth.deviceFlow.label, other));
    // OpenCode stores a key typed for an `api` method under the hook's own provider only; other
    // presets take an API key with `opencode-oidc login --api-key --preset ID`.
    if (rt.preset.auth.apiKey.enabled && !other) methods.push(apiKeyMethod(rt.preset.auth.apiKey.label));
  });
  return methods;
}
