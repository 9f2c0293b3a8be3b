import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * The OS keyring (Secret Service on Linux, the macOS Keychain, Windows Credential Manager) through
 * `@napi-rs/keyring`, loaded on first use. Every call is bounded in time, and every failure, including
 * a native module that cannot be loaded (another platform, a runtime without N-API), is a
 * KeyringError with a reason a person can read: never a crash.
 */

export class KeyringError extends Error {
  override readonly name = "KeyringError";
}

/** Linux and the BSDs: the Secret Service (see `osKeyring`). */
const searchesSecretService = process.platform !== "darwin" && process.platform !== "win32";

export interface Keyring {
  /** For messages: "the Secret Service", "the macOS Keychain", "Windows Credential Manager". */
  readonly name: string;
  /** Resolves if the keyring answers a lookup within `ms`. */
  probe(service: string, ms: number): Promise<void>;
  /** The secret stored for (service, account), or undefined. */
  get(service: string, account: string, ms: number): Promise<string | undefined>;
  /** Stores the secret, and reads it back: it must be in the keyring, not in a fallback. */
  set(service: string, account: string, secret: string, ms: number): Promise<void>;
  delete(service: string, account: string, ms: number): Promise<void>;
}

type Native = typeof import("@napi-rs/keyring");

let native: Promise<Native> | undefined;

/**
 * On Linux the Secret Service is reached over the D-Bus session bus. Without an address for one
 * (DBUS_SESSION_BUS_ADDRESS, or the systemd user bus in XDG_RUNTIME_DIR, or an X display to
 * autolaunch from), say so at once: libdbus would spend a quarter of a second finding out.
 */
function noSessionBus(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!searchesSecretService || env.DBUS_SESSION_BUS_ADDRESS || env.DISPLAY) return undefined;
  if (env.XDG_RUNTIME_DIR && existsSync(join(env.XDG_RUNTIME_DIR, "bus"))) return undefined;
  return "no D-Bus session bus to reach a Secret Service on (DBUS_SESSION_BUS_ADDRESS is not set)";
}

async function load(): Promise<Native> {
  const missing = noSessionBus();
  if (missing) throw new KeyringError(missing);
  native ??= import("@napi-rs/keyring").then(
    (mod) => ((mod as { default?: Native }).default ?? mod) as Native,
  );
  try {
    return await native;
  } catch (error) {
    throw new KeyringError(`the keyring module @napi-rs/keyring cannot be loaded (${firstLine(error)})`, {
      cause: error,
    });
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

/** Runs a keyring call with a deadline; a call still running after `ms` is abandoned, not awaited. */
async function bounded<T>(what: string, ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new KeyringError(`the OS keyring did not answer ${what} within ${ms} ms`));
    }, ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([call(abort.signal), deadline]);
  } catch (error) {
    if (error instanceof KeyringError) throw error;
    throw new KeyringError(`the OS keyring failed ${what} (${firstLine(error)})`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

const platformName = (): string =>
  process.platform === "darwin"
    ? "the macOS Keychain"
    : process.platform === "win32"
      ? "Windows Credential Manager"
      : "the Secret Service";

/**
 * On Linux the module falls back to the kernel's keyutils (lost at reboot) when no Secret Service
 * answers, and its `getPassword` turns every error into "no entry". Lookups therefore go through
 * `findCredentialsAsync`, which asks the Secret Service only and reports its errors.
 */
export function osKeyring(): Keyring {
  const find = async (service: string, account: string, signal: AbortSignal) => {
    const { findCredentialsAsync } = await load();
    const found = await findCredentialsAsync(service, null, signal);
    return found.find((c) => c.account === account)?.password;
  };
  return {
    name: platformName(),
    async probe(service, ms) {
      const { findCredentialsAsync } = await load();
      await bounded("a lookup", ms, (signal) => findCredentialsAsync(service, null, signal));
    },
    async get(service, account, ms) {
      if (searchesSecretService) return bounded("a lookup", ms, (signal) => find(service, account, signal));
      const { AsyncEntry } = await load();
      return bounded("a lookup", ms, async (signal) => {
        return (await new AsyncEntry(service, account).getPassword(signal)) ?? undefined;
      });
    },
    async set(service, account, secret, ms) {
      const { AsyncEntry } = await load();
      await bounded("a write", ms, (signal) => new AsyncEntry(service, account).setPassword(secret, signal));
      const back = await this.get(service, account, ms);
      if (back !== secret) {
        await this.delete(service, account, ms).catch(() => undefined);
        throw new KeyringError(`${platformName()} did not keep the secret it was given`);
      }
    },
    async delete(service, account, ms) {
      const { AsyncEntry } = await load();
      await bounded("a delete", ms, (signal) => new AsyncEntry(service, account).deleteCredential(signal));
      if ((await this.get(service, account, ms)) !== undefined)
        throw new KeyringError(`${platformName()} did not delete the secret`);
    },
  };
}
