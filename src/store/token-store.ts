import { lstat, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { STORE_LOCK } from "../core/defaults.js";
import { ErrorCode, OidcError } from "../core/errors.js";
import {
  type Logger,
  type SessionKey,
  silentLogger,
  type TokenSet,
  type TokenStorage,
} from "../core/ports.js";
import { registerSecret } from "../core/redact.js";
import { ensurePrivateDir, writePrivateFile } from "./private-files.js";

export const STORE_VERSION = 1;

export interface StoredSession extends TokenSet {
  preset: string;
  issuer: string;
  clientId: string;
  updatedAt: number;
}

export interface StoredApiKey {
  key: string;
  savedAt: number;
  /** The gateway base URL the key may be sent to (set when stored; old keys are bound at first use). */
  binding?: string;
}

export interface StoreData {
  version: typeof STORE_VERSION;
  sessions: Record<string, StoredSession>;
  apiKeys: Record<string, StoredApiKey>;
}

export interface LockPolicy {
  /** A lock older than this is taken over (its holder died). */
  staleMs: number;
  /** How long to wait for the lock before LOCK_TIMEOUT. */
  waitMs: number;
}

// A live holder touches the lock every staleMs/3 s; a killed one blocks others for at most staleMs.
const DEFAULT_LOCK: LockPolicy = { staleMs: STORE_LOCK.staleMs, waitMs: STORE_LOCK.waitMs };

const empty = (): StoreData => ({ version: STORE_VERSION, sessions: {}, apiKeys: {} });

export function sessionId(key: SessionKey): string {
  return `${key.preset}|${key.issuer}|${key.clientId}`;
}

type Parsed = { ok: true; data: StoreData } | { ok: false; reason: string } | { ok: "missing" };

/**
 * The token store: one JSON file (0600 in a 0700 folder) with a schema version, one entry per
 * (preset, issuer, client id). Writes are atomic and happen under a lock on a separate lock file.
 * A corrupt file is moved aside (never overwritten) and the user is treated as logged out.
 */
export class FileTokenStore implements TokenStorage {
  private readonly lock: LockPolicy;

  constructor(
    readonly file: string,
    private readonly logger: Logger = silentLogger,
    lock: Partial<LockPolicy> = {},
  ) {
    this.lock = { ...DEFAULT_LOCK, ...lock };
  }

  get lockFile(): string {
    return `${this.file}.lock`;
  }

  async read(key: SessionKey): Promise<TokenSet | undefined> {
    const parsed = await this.parse();
    // Moving a corrupt file aside happens under the lock, at the next write; say so now.
    if (parsed.ok === false)
      this.logger.log("warn", `The token store ${this.file} is ${parsed.reason}; treating it as logged out.`);
    if (parsed.ok !== true) return undefined;
    return toTokenSet(parsed.data.sessions[sessionId(key)]);
  }

  async readAll(): Promise<StoreData> {
    const parsed = await this.parse();
    return parsed.ok === true ? parsed.data : empty();
  }

  async transact<T>(
    key: SessionKey,
    fn: (current: TokenSet | undefined) => Promise<{ next?: TokenSet | null; result: T }>,
  ): Promise<T> {
    return this.update(async (data) => {
      const id = sessionId(key);
      const { next, result } = await fn(toTokenSet(data.sessions[id]));
      if (next === null) {
        if (!(id in data.sessions)) return { result, write: false };
        delete data.sessions[id];
      } else if (next !== undefined) {
        data.sessions[id] = {
          ...next,
          preset: key.preset,
          issuer: key.issuer,
          clientId: key.clientId,
          updatedAt: Date.now(),
        };
      }
      return { result, write: next !== undefined };
    });
  }

  async getApiKey(preset: string): Promise<string | undefined> {
    return (await this.getApiKeyEntry(preset))?.key;
  }

  /** The stored API key with the gateway it is bound to. */
  async getApiKeyEntry(preset: string): Promise<StoredApiKey | undefined> {
    const entry = (await this.readAll()).apiKeys[preset];
    registerSecret(entry?.key);
    return entry;
  }

  async setApiKey(preset: string, key: string | null, binding?: string): Promise<void> {
    await this.update(async (data) => {
      if (key === null) delete data.apiKeys[preset];
      else data.apiKeys[preset] = { key, savedAt: Date.now(), ...(binding !== undefined && { binding }) };
      return { result: undefined, write: true };
    });
  }

  /** Binds a key stored before bindings existed (first use); a key bound elsewhere is left alone. */
  async bindApiKey(preset: string, binding: string): Promise<void> {
    await this.update(async (data) => {
      const entry = data.apiKeys[preset];
      if (!entry || entry.binding !== undefined) return { result: undefined, write: false };
      entry.binding = binding;
      return { result: undefined, write: true };
    });
  }

  /** What a read finds, without side effects: no file yet, a usable store, or why it is unusable. */
  async inspect(): Promise<{ state: "missing" | "ok" } | { state: "corrupt"; reason: string }> {
    const parsed = await this.parse();
    if (parsed.ok === "missing") return { state: "missing" };
    return parsed.ok === true ? { state: "ok" } : { state: "corrupt", reason: parsed.reason };
  }

  /** Fails with STORE_WRITE_FAILED now, rather than after the user has approved a login. */
  async checkWritable(): Promise<void> {
    await this.update(async () => ({ result: undefined, write: false }));
  }

  /** Read, change and write the whole store under the lock. */
  async update<T>(fn: (data: StoreData) => Promise<{ result: T; write: boolean }>): Promise<T> {
    try {
      await ensurePrivateDir(dirname(this.file));
    } catch (error) {
      // E.g. the folder path is a file, or a parent cannot be written: say which path, with a code.
      throw new OidcError(
        ErrorCode.STORE_WRITE_FAILED,
        `Cannot write the token store ${this.file}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const release = await this.acquire();
    try {
      const parsed = await this.parse();
      let data: StoreData;
      if (parsed.ok === false) {
        await this.setAside(parsed.reason);
        data = empty();
      } else {
        data = parsed.ok === true ? parsed.data : empty();
      }
      const { result, write } = await fn(data);
      if (write) {
        try {
          await writePrivateFile(this.file, `${JSON.stringify(data, null, 2)}\n`);
        } catch (error) {
          throw new OidcError(
            ErrorCode.STORE_WRITE_FAILED,
            `Cannot write the token store ${this.file}: ${(error as Error).message}`,
            { cause: error },
          );
        }
      }
      return result;
    } finally {
      await release().catch(() => undefined);
    }
  }

  private async acquire(): Promise<() => Promise<void>> {
    const started = Date.now();
    await this.checkLockPath();
    for (;;) {
      try {
        // Loaded on the first lock (it also patches fs through graceful-fs): not on OpenCode's startup path.
        const { default: lockfile } = await import("proper-lockfile");
        return await lockfile.lock(this.file, {
          lockfilePath: this.lockFile,
          realpath: false,
          stale: this.lock.staleMs,
          update: Math.max(STORE_LOCK.minUpdateMs, Math.floor(this.lock.staleMs / 3)),
          retries: { retries: 20, factor: 1.3, minTimeout: 5, maxTimeout: 100, randomize: true },
          // proper-lockfile throws from a timer by default, which would crash OpenCode: log instead.
          onCompromised: (error) =>
            this.logger.log("warn", `The lock ${this.lockFile} was taken over while held: ${error.message}`),
        });
      } catch (error) {
        if ((error as { code?: string }).code !== "ELOCKED") {
          throw new OidcError(
            ErrorCode.STORE_WRITE_FAILED,
            `Cannot lock the token store ${this.file}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        if (Date.now() - started > this.lock.waitMs) {
          throw new OidcError(ErrorCode.LOCK_TIMEOUT, `Timed out waiting for the lock ${this.lockFile}.`, {
            hint: "Another opencode-oidc process holds it; if none is running, delete the .lock folder.",
          });
        }
      }
    }
  }

  /**
   * The lock is a folder. Anything else at its path (a regular file, a symlink) is not a lock that a
   * holder will ever release: say so at once instead of waiting for the lock timeout.
   */
  private async checkLockPath(): Promise<void> {
    const found = await lstat(this.lockFile).catch(() => undefined);
    if (!found || found.isDirectory()) return;
    throw new OidcError(
      ErrorCode.STORE_WRITE_FAILED,
      `Cannot lock the token store ${this.file}: ${this.lockFile} is ${found.isSymbolicLink() ? "a symbolic link" : "a file"}, not a lock folder.`,
      { hint: `Remove ${this.lockFile} (no opencode-oidc process uses it), then try again.` },
    );
  }

  private async parse(): Promise<Parsed> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOENT") return { ok: "missing" };
      return { ok: false, reason: `unreadable (${code ?? (error as Error).message})` };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, reason: "not valid JSON" };
    }
    const data = value as Partial<StoreData>;
    if (typeof data !== "object" || data === null) return { ok: false, reason: "not a JSON object" };
    if (typeof data.version === "number" && data.version > STORE_VERSION) {
      throw new OidcError(
        ErrorCode.STORE_UNREADABLE,
        `The token store ${this.file} was written by a newer version (schema ${data.version}).`,
        {
          hint: "Update @haiilo/opencode-haiilo-ai, or move the file away to log in again with this version.",
        },
      );
    }
    if (data.version !== STORE_VERSION || typeof data.sessions !== "object" || data.sessions === null) {
      return { ok: false, reason: "not a token store of schema version 1" };
    }
    for (const entry of Object.values(data.sessions)) {
      if (typeof entry?.accessToken !== "string" || typeof entry.expiresAt !== "number")
        return { ok: false, reason: "has a malformed session entry" };
    }
    return {
      ok: true,
      data: { version: STORE_VERSION, sessions: data.sessions, apiKeys: data.apiKeys ?? {} },
    };
  }

  private async setAside(reason: string): Promise<void> {
    const aside = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    try {
      await rename(this.file, aside);
    } catch (error) {
      throw new OidcError(
        ErrorCode.STORE_UNREADABLE,
        `The token store ${this.file} is ${reason} and cannot be moved aside: ${(error as Error).message}`,
        {
          cause: error,
          hint: "Move or delete the file by hand, then log in again.",
        },
      );
    }
    this.logger.log(
      "warn",
      `The token store ${this.file} was ${reason}; it was moved to ${aside}. Log in again.`,
    );
  }
}

function toTokenSet(entry: StoredSession | undefined): TokenSet | undefined {
  if (!entry) return undefined;
  const { preset: _p, issuer: _i, clientId: _c, updatedAt: _u, ...tokens } = entry;
  return tokens;
}
