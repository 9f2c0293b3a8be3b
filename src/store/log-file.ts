import { appendFileSync, chmodSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger, LogLevel } from "../core/ports.js";
import { redact } from "../core/redact.js";

export interface FileLoggerOptions {
  file: string;
  maxBytes: number;
  /** Also hand each line (already redacted) to this sink, e.g. stderr for the CLI's warnings. */
  echo?: (level: LogLevel, line: string) => void;
}

/**
 * The debug log: one redacted line per event, 0600 in a 0700 folder, rotated to `<file>.1` when it
 * passes `maxBytes`. Logging never throws.
 */
export function fileLogger(options: FileLoggerOptions): Logger {
  let size = -1;
  let ready = false;
  return {
    log(level, message, fields) {
      const suffix = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : "";
      const line = redact(`${new Date().toISOString()} ${level.toUpperCase()} ${message}${suffix}`);
      options.echo?.(level, line);
      try {
        if (!ready) {
          mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
          chmodSync(dirname(options.file), 0o700);
          appendFileSync(options.file, "", { mode: 0o600 });
          chmodSync(options.file, 0o600);
          ready = true;
        }
        if (size < 0) size = fileSize(options.file);
        if (size > options.maxBytes) {
          renameSync(options.file, `${options.file}.1`);
          size = 0;
        }
        appendFileSync(options.file, `${line}\n`, { mode: 0o600 });
        size += Buffer.byteLength(line) + 1;
      } catch {
        // A debug log must never break a login or a request.
      }
    },
  };
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields);
  } catch {
    return "{}";
  }
}
