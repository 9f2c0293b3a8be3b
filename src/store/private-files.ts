import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, stat } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Files that hold credentials: 0600 in a 0700 folder, never read, written or chmodded through a
 * symbolic link, written atomically. Errors carry the path and a `code` (the errno name, or
 * `ESYMLINK` / `ENOTREG` for a link or a non-file where a file must be).
 */
export class PrivateFileError extends Error {
  constructor(
    readonly code: string,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const errno = (error: unknown): string | undefined => (error as { code?: string }).code;

function symlinkError(path: string, what: string): PrivateFileError {
  return new PrivateFileError(
    "ESYMLINK",
    path,
    `${what} ${path} is a symbolic link; credentials are never read or written through a link.`,
  );
}

/**
 * Refuses a symbolic link (or a non-folder) at `dir` and, with `tighten`, sets an existing folder with
 * wider permissions to 0700. False if it does not exist.
 */
export async function checkPrivateDir(dir: string, tighten = true): Promise<boolean> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(dir);
  } catch (error) {
    if (errno(error) === "ENOENT") return false;
    throw new PrivateFileError(errno(error) ?? "EIO", dir, (error as Error).message, { cause: error });
  }
  if (info.isSymbolicLink()) throw symlinkError(dir, "The folder");
  if (!info.isDirectory()) throw new PrivateFileError("ENOTDIR", dir, `${dir} is not a folder.`);
  if (tighten && (info.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  return true;
}

/**
 * For files that hold no credential of ours (OpenCode's auth.json, where we write only a marker; the
 * model cache): links are followed, as before and as OpenCode does.
 */
export interface LinkPolicy {
  followLinks?: boolean;
}

/** Creates `dir` as 0700 (whatever the umask), tightens it if it exists with wider permissions, refuses a link. */
export async function ensurePrivateDir(dir: string, policy: LinkPolicy = {}): Promise<void> {
  // mkdir never replaces or follows a link at `dir` itself: an existing link is then refused below.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (policy.followLinks) {
    if (((await stat(dir)).mode & 0o777) !== 0o700) await chmod(dir, 0o700);
    return;
  }
  await checkPrivateDir(dir);
}

/**
 * Reads a private file without following a link (O_NOFOLLOW) and tightens it to 0600 if it is wider.
 * Undefined if it (or its folder) does not exist; a link, a folder, a FIFO or any read error throws.
 */
export async function readPrivateFile(path: string): Promise<string | undefined> {
  if (!(await checkPrivateDir(dirname(path)))) return undefined;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the open.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (errno(error) === "ENOENT") return undefined;
    if (errno(error) === "ELOOP") throw symlinkError(path, "The file");
    throw new PrivateFileError(errno(error) ?? "EIO", path, (error as Error).message, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      const code = info.isDirectory() ? "EISDIR" : "ENOTREG";
      throw new PrivateFileError(code, path, `${path} is not a regular file.`);
    }
    if ((info.mode & 0o777 & ~0o600) !== 0) await handle.chmod(0o600);
    return await handle.readFile("utf8");
  } catch (error) {
    if (error instanceof PrivateFileError) throw error;
    throw new PrivateFileError(errno(error) ?? "EIO", path, (error as Error).message, { cause: error });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Refuses to write `path` if it is a symbolic link (write-file-atomic would write to its target). */
async function refuseLink(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSymbolicLink()) throw symlinkError(path, "The file");
  } catch (error) {
    if (error instanceof PrivateFileError) throw error;
    if (errno(error) !== "ENOENT") throw error;
  }
}

/**
 * Writes a file readable only by its owner (0600, whatever the umask), atomically: temp file, fsync,
 * rename. The folder and the file must not be symbolic links.
 */
export async function writePrivateFile(path: string, data: string, policy: LinkPolicy = {}): Promise<void> {
  if (!policy.followLinks) {
    await checkPrivateDir(dirname(path), false);
    await refuseLink(path);
  }
  // Loaded on the first write: a start with a fresh token and a warm cache never writes.
  const { default: writeFileAtomic } = await import("write-file-atomic");
  await writeFileAtomic(path, data, { mode: 0o600, fsync: true });
}
