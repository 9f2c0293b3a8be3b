/** Reading the token store file the way a person (or another version) would see it. */
import { readFileSync } from "node:fs";
import type { SessionKey } from "../../src/core/ports.js";
import { sessionId } from "../../src/store/token-store.js";

export const sessionStoreId = (key: SessionKey): string => sessionId(key);

export function readStoreFile(file: string): {
  version: number;
  sessions: Record<string, Record<string, unknown>>;
  apiKeys?: unknown;
} {
  return JSON.parse(readFileSync(file, "utf8"));
}
