import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { Logger, LogLevel } from "../core/ports.js";
import { redact } from "../core/redact.js";

export interface FileLoggerOptions {
  file: string;
  maxBytes: number;
  /** Also hand each line (already redacted) to this sink, e.g. stderr for the CLI's warnings. */
  echo?: (level: LogLevel, line: string) => void;
  /**
   * Folders on the way to the file that must be private (0700) and no symbolic link; default the
   * file's own folder. The plugin passes the token store's folder too, which holds the log folder.
   */
  privateDirs?: string[];
}

// O_NONBLOCK: a FIFO put in the file's place fails at once instead of hanging the process.
const APPEND =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The debug log: one redacted line per event, 0600 in a 0700 folder, rotated to `<file>.1` when it
 * passes `maxBytes`. A log file or folder that is a symbolic link is never written through: the log
 * is then off, with one warning to `echo`. Logging never throws.
 */
export function fileLogger(options: FileLoggerOptions): Logger {
  let size = -1;
  let state: "new" | "ready" | "refused" = "new";
  const refuse = (path: string) => {
    state = "refused";
    const line = redact(
      `${new Date().toISOString()} WARN The debug log is off: ${path} is a symbolic link, and logs are never written through a link.`,
    );
    options.echo?.("warn", line);
  };
  return {
    log(level, message, fields) {
      const suffix = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : "";
      const line = redact(`${new Date().toISOString()} ${level.toUpperCase()} ${message}${suffix}`);
      options.echo?.(level, line);
      if (state === "refused") return;
      try {
        if (state === "new") {
          const dirs = options.privateDirs ?? [dirname(options.file)];
          const link = openPrivateDirs(dirs) ?? (isLink(options.file) ? options.file : undefined);
          if (link) return refuse(link);
          state = "ready";
        }
        if (size < 0) size = 0;
        if (size > options.maxBytes) {
          renameSync(options.file, `${options.file}.1`);
          size = 0;
        }
        size = append(options.file, `${line}\n`);
      } catch (error) {
        // A debug log must never break a login or a request.
        if ((error as { code?: string }).code === "ELOOP") refuse(options.file);
      }
    },
  };
}

/** Creates and tightens each folder; the first one that is a symbolic link, if any. */
function openPrivateDirs(dirs: string[]): string | undefined {
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const info = lstatSync(dir);
    if (info.isSymbolicLink()) return dir;
    if ((info.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  }
  return undefined;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Appends without following a link, keeps the file 0600, and returns its new size. */
function append(file: string, text: string): number {
  const fd = openSync(file, APPEND, 0o600);
  try {
    const info = fstatSync(fd);
    if ((info.mode & 0o777 & ~0o600) !== 0) fchmodSync(fd, 0o600);
    writeSync(fd, text);
    return info.size + Buffer.byteLength(text);
  } finally {
    closeSync(fd);
  }
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields);
  } catch {
    return "{}";
  }
}
