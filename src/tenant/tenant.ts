import { dirname, join } from "node:path";
import type { OidcError } from "../core/errors.js";
import type { OidcSettings } from "../core/oauth/client.js";
import type { MachineIdentity } from "../core/oauth/machine-identity.js";
import type { Clock, FetchLike, Logger, LogLevel, SessionKey } from "../core/ports.js";
import { registerSecret } from "../core/redact.js";
import { type RetryPolicy, Session } from "../core/session.js";
import { globalConfigDir } from "../presets/config-files.js";
import { machineIdentityFromEnv } from "../presets/machine-identity.js";
import { missingFieldsError } from "../presets/missing.js";
import type { Preset, ResolvedPreset } from "../presets/types.js";
import { fileLogger } from "../store/log-file.js";
import { type StorePaths, storePaths } from "../store/paths.js";
import { FileTokenStore, type LockPolicy, type TokenStoreMode } from "../store/token-store.js";
import { tokenStoreMode } from "../store/token-store-mode.js";

/**
 * Where else an API key for this tenant may be found (after the token store): a host's own
 * credential file, for example OpenCode's auth.json. Answers the key or undefined; never throws.
 */
export type ApiKeySource = (tenant: Tenant) => Promise<string | undefined>;

export interface TenantOptions {
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  clock?: Clock;
  /** Receives each (redacted) log line too, e.g. the CLI's stderr for warnings. */
  echo?: (level: LogLevel, line: string) => void;
  lock?: Partial<LockPolicy>;
  retry?: Partial<RetryPolicy>;
  /** Extra places a host keeps API keys, asked in order after the token store. */
  apiKeySources?: ApiKeySource[];
  /** `tokenStore` from the user's global config; OPENCODE_OIDC_TOKEN_STORE in `env` overrides it. */
  tokenStore?: TokenStoreMode;
  /** The default preset's tenant also reads the `OPENCODE_OIDC_*` machine identity variables. */
  isDefault?: boolean;
}

/**
 * One tenant, wired once: its resolved preset, the token store, the debug log and the session of
 * its login. The OpenCode adapter and the CLI build the same Tenant, so a login made in one is what
 * the other sees. What to send (`credentials.ts`), which models (`model-listing.ts`) and how to log
 * in (`login.ts`) are use cases over it.
 */
export class Tenant {
  readonly preset: Preset;
  readonly paths: StorePaths;
  readonly store: FileTokenStore;
  readonly logger: Logger;
  private loginSessionInstance: Session | undefined;
  private machineSessionInstance: Session | undefined;
  private machine: { identity: MachineIdentity | undefined } | undefined;

  constructor(
    readonly resolved: ResolvedPreset,
    readonly options: TenantOptions = {},
  ) {
    this.preset = resolved.preset;
    this.paths = storePaths(options.env);
    const logFile = join(this.paths.logDir, this.preset.log.file);
    this.logger = fileLogger({
      file: logFile,
      privateDirs: [this.paths.authDir, dirname(logFile)],
      maxBytes: this.preset.log.maxBytes,
      echo: options.echo,
    });
    this.store = new FileTokenStore(this.paths.tokenFile, this.logger, {
      lock: options.lock,
      ...tokenStoreMode(options.env ?? process.env, options.tokenStore),
    });
  }

  get fetch(): FetchLike | undefined {
    return this.options.fetch;
  }

  /** The OIDC settings, or undefined while the issuer or client id is still missing. */
  get oidc(): OidcSettings | undefined {
    const { issuer, clientId, clientSecret, scopes, audience, audienceParam, endpoints, compat } =
      this.preset.oidc;
    if (!issuer || !clientId) return undefined;
    if (clientSecret) registerSecret(clientSecret);
    return { issuer, clientId, clientSecret, scopes, audience, audienceParam, endpoints, compat };
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

  /**
   * The machine identity the environment sets for this tenant (CI, servers), if any. Throws
   * MACHINE_IDENTITY_INVALID when the variables contradict each other.
   */
  machineIdentity(): MachineIdentity | undefined {
    this.machine ??= {
      identity: machineIdentityFromEnv(
        this.preset,
        this.options.env ?? process.env,
        this.options.isDefault === true,
      ),
    };
    return this.machine.identity;
  }

  /**
   * The session requests use: the machine identity's when one is set (it needs no login and is
   * renewed by new grants), else the person's login.
   */
  session(): Session {
    return this.machineIdentity() ? this.machineSession() : this.loginSession();
  }

  /** The machine identity's session: its tokens are stored apart from the login's, under the same lock. */
  machineSession(): Session {
    const identity = this.machineIdentity();
    if (!identity) return this.loginSession();
    const { issuer, scopes: _scopes, ...rest } = this.preset.oidc;
    if (!issuer) throw this.missingError(["/oidc/issuer"]);
    const settings: OidcSettings = {
      issuer,
      clientId: identity.clientId,
      scopes: identity.scopes,
      audience: rest.audience,
      audienceParam: rest.audienceParam,
      endpoints: rest.endpoints,
    };
    this.machineSessionInstance ??= new Session({
      key: { preset: this.preset.id, issuer, clientId: identity.clientId, identity: identity.kind },
      settings,
      storage: this.store,
      skewSeconds: this.preset.oidc.refreshSkewSeconds,
      clock: this.options.clock,
      fetch: this.options.fetch,
      logger: this.logger,
      retry: this.options.retry,
      binding: this.binding,
      tenantName: this.preset.name,
      obtain: async (ctx) => {
        // The OAuth library is loaded with the first grant, never on a start with a fresh token.
        const { machineGrant } = await import("../core/oauth/machine-grant.js");
        return machineGrant(settings, identity, { fetch: this.options.fetch, ...ctx });
      },
    });
    return this.machineSessionInstance;
  }

  /** The session of a person's login (device or browser): what `login` saves and `logout` ends. */
  loginSession(): Session {
    this.loginSessionInstance ??= new Session({
      key: this.sessionKey,
      settings: this.requireOidc(),
      storage: this.store,
      skewSeconds: this.preset.oidc.refreshSkewSeconds,
      clock: this.options.clock,
      fetch: this.options.fetch,
      logger: this.logger,
      retry: this.options.retry,
      binding: this.binding,
      tenantName: this.preset.name,
      describeBinding: (binding) => {
        const [gateway, endpoints] = (binding ?? "").split("\n");
        return `the gateway ${gateway}${endpoints && endpoints !== "{}" ? ` and the endpoints ${endpoints}` : ""}`;
      },
    });
    return this.loginSessionInstance;
  }

  /** Whether requests have a token source: a machine identity, or a stored login (reads the store). */
  async hasSession(signal?: AbortSignal): Promise<boolean> {
    if (this.machineIdentity()) return true;
    if (!this.oidc) return false;
    return (await this.store.read(this.sessionKey, { signal })) !== undefined;
  }
}
