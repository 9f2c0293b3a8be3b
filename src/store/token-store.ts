import { lstat, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { KEYRING, STORE_LOCK, STORE_LOCK_RETRY } from "../core/defaults.js";
import { ErrorCode, OidcError } from "../core/errors.js";
import {
  type Logger,
  type SessionKey,
  type StorageOptions,
  silentLogger,
  type TokenSet,
  type TokenStorage,
} from "../core/ports.js";
import { registerSecret } from "../core/redact.js";
import { type Keyring, KeyringError, osKeyring } from "./keyring.js";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "./private-files.js";
import { newStoreKey, openDocument, sealDocument } from "./sealed-document.js";
import {
  emptyStore,
  type ParsedDocument,
  parseStoreDocument,
  type Rejected,
  STORE_VERSION,
  type StoreData,
  type StoredApiKey,
  toTokenSet,
} from "./store-document.js";

export interface LockPolicy {
  /** A lock older than this is taken over (its holder died). */
  staleMs: number;
  /** How long to wait for the lock before LOCK_TIMEOUT. */
  waitMs: number;
}

export interface KeyringPolicy {
  /** `tokenStore: "auto"`: the keyring is used only if it answers a lookup within this time. */
  probeMs: number;
  /** Any other keyring call fails after this long. */
  callMs: number;
}

// A live holder touches the lock every staleMs/3 s; a killed one blocks others for at most staleMs.
const DEFAULT_LOCK: LockPolicy = { staleMs: STORE_LOCK.staleMs, waitMs: STORE_LOCK.waitMs };
const DEFAULT_KEYRING: KeyringPolicy = { probeMs: KEYRING.probeMs, callMs: KEYRING.callMs };

export type { StoreData, StoredApiKey, StoredSession } from "./store-document.js";
export { STORE_VERSION };

/** Where the tokens are kept: a plain 0600 file, or the same file encrypted with a key in the OS keyring. */
export type TokenStoreMode = "auto" | "keyring" | "file";
export const TOKEN_STORE_MODES: readonly TokenStoreMode[] = ["auto", "keyring", "file"];

/** The keyring entry holding the store's key: this service, and the store file's path as the account. */
export const KEYRING_SERVICE = "opencode-oidc";

export interface TokenStoreOptions {
  lock?: Partial<LockPolicy>;
  /** Default "file". "auto" uses the keyring if it answers within `keyringPolicy.probeMs`. */
  mode?: TokenStoreMode;
  keyring?: Keyring;
  keyringPolicy?: Partial<KeyringPolicy>;
  /** A mode setting that could not be understood: every use of the store fails with it. */
  invalid?: OidcError;
}

/** What `status` shows: the configured mode and where the tokens are now. */
export interface StoreStatus {
  mode: TokenStoreMode;
  /** "keyring": the file is encrypted and its key is in the OS keyring. "none": nothing stored yet. */
  kind: "file" | "keyring" | "none";
  file: string;
  keyring: { name: string; service: string; account: string };
  /** For "auto" without a keyring: why the keyring is not used. */
  keyringProblem?: string;
}

export function sessionId(key: SessionKey): string {
  const base = `${key.preset}|${key.issuer}|${key.clientId}`;
  return key.identity ? `${base}|machine:${key.identity}` : base;
}

/** The store file as read: what it holds and, decoded, its document. */
interface Opened {
  kind: "missing" | "plain" | "sealed" | "corrupt";
  raw?: string;
  data: StoreData;
  rejected: Rejected[];
  corrupt?: string;
}

type Layout = "plain" | "sealed";

/**
 * The token store: one JSON document with a schema version, one entry per (preset, issuer, client
 * id) and one per preset's API key, in a file (0600 in a 0700 folder, never through a link). With the
 * keyring the same document is written encrypted and only the OS keyring holds the key. Writes are
 * atomic and happen under a lock on a separate lock file. Entries are validated one by one: a bad
 * entry is reported and set aside, the others are kept. Text that is no store at all is corrupt: it
 * is moved aside (never overwritten) and the user is treated as logged out. Any other read problem
 * (permissions, a link, no keyring) is an error that leaves everything as it is.
 */
export class FileTokenStore implements TokenStorage {
  private readonly lock: LockPolicy;
  private readonly mode: TokenStoreMode;
  private readonly keyringPolicy: KeyringPolicy;
  private keyringInstance: Keyring | undefined;
  /** The store's key once read from (or given to) the keyring in this process. */
  private key: string | undefined;
  /** "auto": undefined when the keyring answered, else why not (asked once per process). */
  private probe: Promise<string | undefined> | undefined;
  /** The first access in a process moves the store where the mode wants it. */
  private moveChecked = false;
  private readonly invalid: OidcError | undefined;

  constructor(
    readonly file: string,
    private readonly logger: Logger = silentLogger,
    options: TokenStoreOptions = {},
  ) {
    this.lock = { ...DEFAULT_LOCK, ...options.lock };
    this.mode = options.mode ?? "file";
    this.keyringPolicy = { ...DEFAULT_KEYRING, ...options.keyringPolicy };
    this.keyringInstance = options.keyring;
    this.invalid = options.invalid;
  }

  get lockFile(): string {
    return `${this.file}.lock`;
  }

  private get keyring(): Keyring {
    this.keyringInstance ??= osKeyring();
    return this.keyringInstance;
  }

  private get keyringEntry(): { service: string; account: string } {
    return { service: KEYRING_SERVICE, account: this.file };
  }

  async read(key: SessionKey, options: StorageOptions = {}): Promise<TokenSet | undefined> {
    return toTokenSet((await this.readAll(options)).sessions[sessionId(key)]);
  }

  async readAll(options: StorageOptions = {}): Promise<StoreData> {
    if (this.invalid) throw this.invalid;
    let opened = await this.open();
    if (!this.moveChecked) {
      this.moveChecked = true;
      if (await this.misplaced(opened)) {
        try {
          await this.update(async () => ({ result: undefined, write: false }), options);
          opened = await this.open();
        } catch (error) {
          // The login is still readable where it is: say why it did not move, and go on.
          this.logger.log("warn", `The token store ${this.file} was not moved: ${(error as Error).message}`);
        }
      }
    }
    // Moving a corrupt file aside happens under the lock, at the next write; say so now.
    if (opened.kind === "corrupt")
      this.logger.log(
        "warn",
        `The token store ${this.file} is ${opened.corrupt}; treating it as logged out.`,
      );
    this.reportRejected(opened.rejected, "left out until the next write sets them aside");
    return opened.data;
  }

  async transact<T>(
    key: SessionKey,
    fn: (current: TokenSet | undefined) => Promise<{ next?: TokenSet | null; result: T }>,
    options: StorageOptions = {},
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
          ...(key.identity && { identity: key.identity }),
          updatedAt: Date.now(),
        };
      }
      return { result, write: next !== undefined };
    }, options);
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

  /**
   * What a read finds, without side effects (nothing moved, nothing tightened beyond the modes): no
   * file yet, a usable store, or why it is corrupt. A file that cannot be read throws STORE_UNREADABLE.
   */
  async inspect(): Promise<{ state: "missing" | "ok" } | { state: "corrupt"; reason: string }> {
    if (this.invalid) throw this.invalid;
    const opened = await this.open();
    if (opened.kind === "missing") return { state: "missing" };
    if (opened.kind === "corrupt") return { state: "corrupt", reason: opened.corrupt ?? "corrupt" };
    return { state: "ok" };
  }

  /** The same store (file, mode, keyring) with another lock policy, e.g. a short wait for a check. */
  withLockPolicy(lock: Partial<LockPolicy>): FileTokenStore {
    return new FileTokenStore(this.file, silentLogger, {
      lock: { ...this.lock, ...lock },
      mode: this.mode,
      keyring: this.keyringInstance,
      keyringPolicy: this.keyringPolicy,
      invalid: this.invalid,
    });
  }

  /**
   * Fails with STORE_WRITE_FAILED (or STORE_UNREADABLE) now, rather than after the user has approved
   * a login: the folder, the lock, the file, and with `tokenStore: "keyring"` the keyring.
   */
  async checkWritable(): Promise<void> {
    await this.update(async () => ({ result: undefined, write: false }));
    if (this.mode === "keyring" && this.key === undefined) {
      await this.keyring.probe(KEYRING_SERVICE, this.keyringPolicy.callMs).catch((error: unknown) => {
        throw this.keyringUnusable(error, ErrorCode.STORE_WRITE_FAILED);
      });
    }
  }

  /** The configured mode and where the tokens are now (reads the file; never moves it). */
  async status(): Promise<StoreStatus> {
    if (this.invalid) throw this.invalid;
    const keyring = { name: this.keyring.name, ...this.keyringEntry };
    const parsed = await this.readText().then((raw) =>
      raw === undefined ? undefined : parseStoreDocument(raw),
    );
    const kind = parsed === undefined ? "none" : parsed.kind === "sealed" ? "keyring" : "file";
    const keyringProblem =
      this.mode === "auto" && kind !== "keyring" ? await this.keyringProblem() : undefined;
    return { mode: this.mode, kind, file: this.file, keyring, ...(keyringProblem && { keyringProblem }) };
  }

  /** Where the store is, in words: "<file> (mode 0600)" or "<file>, encrypted, its key in <keyring>". */
  async describe(): Promise<string> {
    const { kind, keyring } = await this.status();
    return kind === "keyring"
      ? `${this.file}, encrypted with a key kept in ${keyring.name}`
      : `${this.file} (mode 0600)`;
  }

  /** Read, change and write the whole store under the lock (moving it where the mode wants it). */
  async update<T>(
    fn: (data: StoreData) => Promise<{ result: T; write: boolean }>,
    options: StorageOptions = {},
  ): Promise<T> {
    if (this.invalid) throw this.invalid;
    try {
      await ensurePrivateDir(dirname(this.file));
    } catch (error) {
      // E.g. the folder path is a file, or a parent cannot be written: say which path, with a code.
      throw this.fileError(error, "write");
    }
    const release = await this.acquire(options.signal);
    try {
      const opened = await this.open();
      if (opened.kind === "corrupt") await this.setAside(opened.corrupt ?? "corrupt");
      const { result, write } = await fn(opened.data);
      const moving = await this.misplaced(opened);
      if (write || moving) {
        const layout = await this.wantedLayout(opened);
        if (opened.rejected.length > 0 && opened.raw !== undefined) await this.keepCopy(opened);
        const written = await this.persist(opened.data, layout);
        if (moving && written !== opened.kind) await this.moved(written);
      }
      return result;
    } finally {
      await release().catch(() => undefined);
    }
  }

  /** Whether the stored document sits elsewhere than the mode wants it (plain vs. encrypted). */
  private async misplaced(opened: Opened): Promise<boolean> {
    if (opened.kind !== "plain" && opened.kind !== "sealed") return false;
    return (await this.wantedLayout(opened)) !== opened.kind;
  }

  private async wantedLayout(opened: Opened): Promise<Layout> {
    if (this.mode === "file") return "plain";
    if (this.mode === "keyring" || opened.kind === "sealed") return "sealed";
    return (await this.keyringProblem()) === undefined ? "sealed" : "plain";
  }

  /** "auto": asks the keyring once per process, within the probe bound. Undefined means it answered. */
  private keyringProblem(): Promise<string | undefined> {
    this.probe ??= this.keyring.probe(KEYRING_SERVICE, this.keyringPolicy.probeMs).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    return this.probe;
  }

  /** Writes the document as `layout`; "auto" falls back to the plain file if the keyring fails now. */
  private async persist(data: StoreData, layout: Layout): Promise<Layout> {
    let text: string;
    if (layout === "sealed") {
      try {
        text = sealDocument(data, await this.storeKey(true), this.keyringEntry);
      } catch (error) {
        if (!(error instanceof KeyringError) || this.mode !== "auto" || this.key !== undefined) {
          throw error instanceof KeyringError
            ? this.keyringUnusable(error, ErrorCode.STORE_WRITE_FAILED)
            : error;
        }
        this.logger.log(
          "warn",
          `The OS keyring failed (${error.message}); the token store stays a plain file.`,
        );
        return this.persist(data, "plain");
      }
    } else {
      text = `${JSON.stringify(data, null, 2)}\n`;
    }
    try {
      await writePrivateFile(this.file, text);
    } catch (error) {
      throw this.fileError(error, "write");
    }
    return layout;
  }

  /** After a move between the plain file and the keyring: drop the key that is no longer needed. */
  private async moved(layout: Layout): Promise<void> {
    const { service, account } = this.keyringEntry;
    if (layout === "sealed") {
      this.logger.log(
        "info",
        `The token store ${this.file} is now encrypted; its key is in ${this.keyring.name} (service ${service}, account ${account}).`,
      );
      return;
    }
    this.key = undefined;
    try {
      await this.keyring.delete(service, account, this.keyringPolicy.callMs);
      this.logger.log(
        "info",
        `The token store ${this.file} is a plain file again; its key was removed from ${this.keyring.name}.`,
      );
    } catch (error) {
      this.logger.log(
        "warn",
        `The token store ${this.file} is a plain file again, but its old key could not be removed from ${this.keyring.name} (${(error as Error).message}).`,
      );
    }
  }

  /** The store's key: cached, else from the keyring, else (with `create`) a new one given to the keyring. */
  private async storeKey(create: boolean): Promise<string> {
    if (this.key !== undefined) return this.key;
    const { service, account } = this.keyringEntry;
    const found = await this.keyring.get(service, account, this.keyringPolicy.callMs);
    if (found !== undefined) {
      registerSecret(found);
      this.key = found;
      return found;
    }
    if (!create) {
      throw new OidcError(
        ErrorCode.STORE_UNREADABLE,
        `The token store ${this.file} is encrypted, but ${this.keyring.name} has no key for it (service ${service}, account ${account}).`,
        {
          hint: "It was encrypted on another machine or the keyring was reset. Move the file away (it stays encrypted) and log in again.",
        },
      );
    }
    const key = newStoreKey();
    registerSecret(key);
    await this.keyring.set(service, account, key, this.keyringPolicy.callMs);
    this.key = key;
    return key;
  }

  private async readText(): Promise<string | undefined> {
    try {
      return await readPrivateFile(this.file);
    } catch (error) {
      throw this.fileError(error, "read");
    }
  }

  /** Reads and decodes the file. Throws STORE_UNREADABLE for anything but "missing", "store" or "corrupt". */
  private async open(): Promise<Opened> {
    const raw = await this.readText();
    if (raw === undefined) return { kind: "missing", data: emptyStore(), rejected: [] };
    let parsed: ParsedDocument = parseStoreDocument(raw);
    let kind: Opened["kind"] = "plain";
    if (parsed.kind === "sealed") {
      kind = "sealed";
      const envelope = parsed.envelope;
      const cached = this.key !== undefined;
      let inside = openDocument(envelope, await this.keyFor(envelope));
      // Another process may have moved the store to a plain file and back, with a new key, meanwhile.
      if (inside === undefined && cached) {
        this.key = undefined;
        inside = openDocument(envelope, await this.keyFor(envelope));
      }
      parsed = inside ?? {
        kind: "corrupt",
        reason: `encrypted, but it does not decrypt with its key from ${this.keyring.name}`,
      };
    }
    if (parsed.kind === "newer") {
      throw new OidcError(
        ErrorCode.STORE_UNREADABLE,
        `The token store ${this.file} was written by a newer version (schema ${parsed.version}).`,
        {
          hint: "Update @haiilo/opencode-haiilo-ai, or move the file away to log in again with this version.",
        },
      );
    }
    if (parsed.kind === "corrupt")
      return { kind: "corrupt", raw, data: emptyStore(), rejected: [], corrupt: parsed.reason };
    if (parsed.kind !== "store")
      return { kind: "corrupt", raw, data: emptyStore(), rejected: [], corrupt: "nested encryption" };
    return { kind, raw, data: parsed.data, rejected: parsed.rejected };
  }

  private async keyFor(envelope: { keyring: { service: string; account: string } }): Promise<string> {
    const { service, account } = this.keyringEntry;
    if (envelope.keyring.service !== service || envelope.keyring.account !== account) {
      throw new OidcError(
        ErrorCode.STORE_UNREADABLE,
        `The token store ${this.file} is encrypted with the key of another store (${envelope.keyring.account}).`,
        { hint: "It was copied from elsewhere. Move it back, or move it away and log in again." },
      );
    }
    try {
      return await this.storeKey(false);
    } catch (error) {
      if (error instanceof KeyringError) throw this.keyringUnusable(error, ErrorCode.STORE_UNREADABLE);
      throw error;
    }
  }

  private reportRejected(rejected: Rejected[], what: string): void {
    if (rejected.length === 0) return;
    const list = rejected.map((r) => `${r.where} ${r.reason}`).join("; ");
    this.logger.log("warn", `The token store ${this.file} has malformed entries, ${what}: ${list}.`);
  }

  /** Before a write drops malformed entries, the file as it was is kept next to it. */
  private async keepCopy(opened: Opened): Promise<void> {
    const aside = this.asideName();
    try {
      await writePrivateFile(aside, opened.raw as string);
    } catch (error) {
      throw this.fileError(error, "write");
    }
    this.reportRejected(opened.rejected, `set aside (the file as it was is kept as ${aside})`);
  }

  private asideName(): string {
    return `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  }

  private async acquire(signal: AbortSignal | undefined): Promise<() => Promise<void>> {
    const started = Date.now();
    await this.checkLockPath();
    // Loaded on the first lock (it also patches fs through graceful-fs): not on OpenCode's startup path.
    const { default: lockfile } = await import("proper-lockfile");
    let pause: number = STORE_LOCK_RETRY.minPauseMs;
    for (;;) {
      if (signal?.aborted) throw this.lockAborted(signal);
      try {
        return await lockfile.lock(this.file, {
          lockfilePath: this.lockFile,
          realpath: false,
          stale: this.lock.staleMs,
          update: Math.max(STORE_LOCK.minUpdateMs, Math.floor(this.lock.staleMs / 3)),
          retries: 0,
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
      // The wait honours the caller's deadline (OpenCode's startup budget, Ctrl-C): no timer outlives it.
      try {
        await delay(pause * (0.5 + Math.random()), undefined, { signal });
      } catch {
        throw this.lockAborted(signal as AbortSignal);
      }
      pause = Math.min(STORE_LOCK_RETRY.maxPauseMs, pause * 1.3);
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

  private lockAborted(signal: AbortSignal): OidcError {
    const reason = signal.reason instanceof Error ? ` (${signal.reason.message})` : "";
    return new OidcError(
      ErrorCode.ABORTED,
      `Stopped waiting for the lock ${this.lockFile}: the caller gave up${reason}.`,
      {
        hint: "Another opencode-oidc process holds it; if none is running, delete the .lock folder.",
      },
    );
  }

  /** The keyring failed: STORE_UNREADABLE for an encrypted store that cannot be opened, else `code`. */
  private keyringUnusable(error: unknown, code: ErrorCode): OidcError {
    const reason = error instanceof Error ? error.message : String(error);
    const hint =
      code === ErrorCode.STORE_UNREADABLE
        ? "The store is encrypted with a key kept in the OS keyring, so it opens only where that keyring answers: unlock it or start it (a desktop session does). Your login is kept. To start over without the keyring, move the file away and log in with `tokenStore` `file`."
        : "Unlock or start your keyring (a desktop session provides one), or set `tokenStore` to `file` (OPENCODE_OIDC_TOKEN_STORE=file) where there is none. Your login is kept.";
    return new OidcError(
      code,
      `The token store ${this.file} needs ${this.keyring.name}, which cannot be used: ${reason}.`,
      { cause: error, hint },
    );
  }

  /** A file-system error as an OidcError: a link or unreadable file is STORE_UNREADABLE, nothing is moved. */
  private fileError(error: unknown, doing: "read" | "write"): OidcError {
    const errno = (error as { code?: unknown }).code;
    const code = typeof errno === "string" ? errno : "EIO";
    const kept = "Your login is kept.";
    const hints: Record<string, string> = {
      ESYMLINK: `Replace the link with the file it points to (or remove it and log in again). ${kept}`,
      EACCES: `The file or its folder may belong to another user (for example after a login with sudo): make them yours (chown) with modes 0600/0700. ${kept}`,
      EPERM: `The file or its folder may belong to another user, or be immutable. ${kept}`,
      EISDIR: "Move it away, then log in again.",
      ENOTREG: "Move it away, then log in again.",
      ENOTDIR: "Move it away, then log in again.",
      EEXIST: "Move it away, then log in again.",
      EMFILE: `Too many open files: close some programs or raise the limit (ulimit -n). ${kept}`,
      ENFILE: `Too many open files on this system. ${kept}`,
      ENOSPC: "The disk is full: free some space.",
      EROFS: "The file system is read-only.",
    };
    const text = (error as Error).message ?? String(error);
    const message =
      code === "ESYMLINK"
        ? text
        : `Cannot ${doing} the token store ${this.file}: ${text}${text.includes(code) ? "" : ` (${code})`}`;
    return new OidcError(
      code === "ESYMLINK" || doing === "read" ? ErrorCode.STORE_UNREADABLE : ErrorCode.STORE_WRITE_FAILED,
      message,
      { cause: error, hint: hints[code] ?? `Try again. ${kept}` },
    );
  }

  private async setAside(reason: string): Promise<void> {
    const aside = this.asideName();
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
