import { join } from "node:path";
import type { Credential } from "../core/authorized-fetch.js";
import { ErrorCode, OidcError } from "../core/errors.js";
import type { OidcSettings } from "../core/oauth/client.js";
import type { Clock, FetchLike, Logger, LogLevel, SessionKey } from "../core/ports.js";
import { registerSecret } from "../core/redact.js";
import { type RetryPolicy, Session } from "../core/session.js";
import { globalConfigDir } from "../presets/config-files.js";
import { missingFieldsError } from "../presets/missing.js";
import type { Preset, ResolvedPreset } from "../presets/types.js";
import { fileLogger } from "../store/log-file.js";
import { readOpencodeApiKey } from "../store/opencode-auth.js";
import { type StorePaths, storePaths } from "../store/paths.js";
import { FileTokenStore, type LockPolicy } from "../store/token-store.js";

export interface RuntimeOptions {
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  clock?: Clock;
  /** Receives each (redacted) log line too, e.g. the CLI's stderr for warnings. */
  echo?: (level: LogLevel, line: string) => void;
  lock?: Partial<LockPolicy>;
  retry?: Partial<RetryPolicy>;
}

/**
 * Everything one preset needs at run time, wired once: the token store, the debug log, the session.
 * Shared by the OpenCode adapter and the CLI, so a login made in one is what the other sees.
 */
export class PresetRuntime {
  readonly preset: Preset;
  readonly paths: StorePaths;
  readonly store: FileTokenStore;
  readonly logger: Logger;
  private sessionInstance: Session | undefined;

  constructor(
    readonly resolved: ResolvedPreset,
    readonly options: RuntimeOptions = {},
  ) {
    this.preset = resolved.preset;
    this.paths = storePaths(options.env);
    this.logger = fileLogger({
      file: join(this.paths.logDir, this.preset.log.file),
      maxBytes: this.preset.log.maxBytes,
      echo: options.echo,
    });
    this.store = new FileTokenStore(this.paths.tokenFile, this.logger, options.lock);
  }

  get fetch(): FetchLike | undefined {
    return this.options.fetch;
  }

  /** The OIDC settings, or undefined while the issuer or client id is still missing. */
  get oidc(): OidcSettings | undefined {
    const { issuer, clientId, scopes, audience, audienceParam, endpoints } = this.preset.oidc;
    if (!issuer || !clientId) return undefined;
    return { issuer, clientId, scopes, audience, audienceParam, endpoints };
  }

  /** PRESET_INCOMPLETE with every way to supply what is missing. */
  missingError(pointers = this.resolved.missing.map((m) => m.pointer)): OidcError {
    return missingFieldsError(this.preset, pointers, join(globalConfigDir(this.options.env), "config.json"));
  }

  requireOidc(): OidcSettings {
    const oidc = this.oidc;
    if (!oidc) throw this.missingError();
    return oidc;
  }

  get sessionKey(): SessionKey {
    const oidc = this.requireOidc();
    return { preset: this.preset.id, issuer: oidc.issuer, clientId: oidc.clientId };
  }

  /** Tokens of a login go only to the gateway and endpoints they were obtained for. */
  get binding(): string {
    return `${this.preset.provider.baseURL}\n${JSON.stringify(this.preset.oidc.endpoints)}`;
  }

  session(): Session {
    this.sessionInstance ??= new Session({
      key: this.sessionKey,
      settings: this.requireOidc(),
      storage: this.store,
      skewSeconds: this.preset.oidc.refreshSkewSeconds,
      clock: this.options.clock,
      fetch: this.options.fetch,
      logger: this.logger,
      retry: this.options.retry,
      binding: this.binding,
      describeBinding: (binding) => {
        const [gateway, endpoints] = (binding ?? "").split("\n");
        return `the gateway ${gateway}${endpoints && endpoints !== "{}" ? ` and the endpoints ${endpoints}` : ""}`;
      },
    });
    return this.sessionInstance;
  }

  /** Whether a device login is stored (reads the store). */
  async hasSession(): Promise<boolean> {
    if (!this.oidc) return false;
    return (await this.store.read(this.sessionKey)) !== undefined;
  }

  /** The API key stored by the CLI, else the one OpenCode stored for this provider. */
  async apiKeyCredential(): Promise<Credential | undefined> {
    const key =
      (await this.store.getApiKey(this.preset.id)) ??
      (await readOpencodeApiKey(this.paths.opencodeAuthFile, this.preset.provider.id, this.options.env));
    if (!key) return undefined;
    registerSecret(key);
    return { kind: "api-key", header: this.preset.auth.apiKey.header, key };
  }

  /** The credential to use: the device login if there is one, else a stored API key. */
  async credential(signal?: AbortSignal): Promise<Credential | undefined> {
    if (await this.hasSession())
      return { kind: "bearer", token: await this.session().getAccessToken({ signal }) };
    return this.apiKeyCredential();
  }

  /** Checks an API key against the preset's pattern (the key itself never appears in the error). */
  checkApiKey(key: string): void {
    const { pattern, header } = this.preset.auth.apiKey;
    registerSecret(key);
    if (!key.trim() || !new RegExp(pattern).test(key.trim())) {
      throw new OidcError(
        ErrorCode.API_KEY_INVALID,
        `That API key does not look right for ${this.preset.name}: keys must match ${pattern}.`,
        {
          hint: `It is sent in the ${header} header. Copy the whole key, without quotes or spaces.`,
        },
      );
    }
  }
}
