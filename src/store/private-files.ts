import { chmod, mkdir, stat } from "node:fs/promises";

/** Creates `dir` as 0700 (whatever the umask) and tightens it if it exists with wider permissions. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if ((info.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}

/** Writes a file readable only by its owner (0600, whatever the umask), atomically: temp file, fsync, rename. */
export async function writePrivateFile(path: string, data: string): Promise<void> {
  // Loaded on the first write: a start with a fresh token and a warm cache never writes.
  const { default: writeFileAtomic } = await import("write-file-atomic");
  await writeFileAtomic(path, data, { mode: 0o600, fsync: true });
}
