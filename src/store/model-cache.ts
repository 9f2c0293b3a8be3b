import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DiscoveredModel } from "../core/models/types.js";
import { ensurePrivateDir, writePrivateFile } from "./private-files.js";

export interface CachedModels {
  version: 1;
  baseURL: string;
  fetchedAt: number;
  models: DiscoveredModel[];
}

/** The last good model list per preset and base URL; read synchronously on OpenCode's startup path. */
export class ModelCache {
  readonly file: string;

  constructor(dir: string, presetId: string, baseURL: string) {
    const hash = createHash("sha256").update(baseURL).digest("hex").slice(0, 12);
    this.file = join(dir, `models-${presetId}-${hash}.json`);
    this.baseURL = baseURL;
  }

  private readonly baseURL: string;

  read(): CachedModels | undefined {
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8")) as CachedModels;
      if (data.version !== 1 || data.baseURL !== this.baseURL || !Array.isArray(data.models))
        return undefined;
      return data;
    } catch {
      return undefined;
    }
  }

  async write(models: DiscoveredModel[], now = Date.now()): Promise<void> {
    // Not a credential: a cache folder that is a link (to another disk, say) is used as before.
    await ensurePrivateDir(join(this.file, ".."), { followLinks: true });
    const data: CachedModels = { version: 1, baseURL: this.baseURL, fetchedAt: now, models };
    await writePrivateFile(this.file, JSON.stringify(data), { followLinks: true });
  }
}
