import { pointerJoin } from "./issues.js";

import type { Origin, Origins } from "./types.js";

export type { Origin, Origins };

type Json = Record<string, unknown>;

/** Maps replaced as a whole rather than merged key by key (see the `extends` rules in docs/presets.md). */
const WHOLE = new Set(["/env"]);
const ROOT_ONLY = new Set(["$schema", "$comment", "id", "extends"]);

export function isPlainObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Applies `patch` onto `target` in place: plain objects merge key by key, everything else replaces.
 * Records in `origins` which layer set each field.
 */
export function overlay(target: Json, patch: Json, origin: Origin, origins: Origins, path = ""): void {
  for (const [key, value] of Object.entries(patch)) {
    if (path === "" && ROOT_ONLY.has(key)) continue;
    if (value === undefined) continue;
    const pointer = pointerJoin(path, key);
    if (isPlainObject(value) && !WHOLE.has(pointer)) {
      const current = target[key];
      const child = isPlainObject(current) ? current : {};
      target[key] = child;
      overlay(
        child,
        value,
        { source: origin.source, pointer: pointerJoin(origin.pointer, key) },
        origins,
        pointer,
      );
      continue;
    }
    target[key] = structuredClone(value);
    for (const known of Object.keys(origins)) if (known.startsWith(`${pointer}/`)) delete origins[known];
    origins[pointer] = { source: origin.source, pointer: pointerJoin(origin.pointer, key) };
  }
}

/** The origin of the deepest recorded field containing `pointer`. */
export function originOf(origins: Origins, pointer: string): Origin | undefined {
  let probe = pointer;
  for (;;) {
    const found = origins[probe];
    if (found) {
      const rest = pointer.slice(probe.length);
      return { source: found.source, pointer: found.pointer + rest };
    }
    if (probe === "") return undefined;
    probe = probe.slice(0, probe.lastIndexOf("/"));
  }
}
