/**
 * Model-id globs: `*` any text (also `/`), `?` one character, everything else literal.
 *
 * Matched without regular expressions, so no glob can backtrack catastrophically: the glob is cut
 * at its stars into segments, the first segment must match at the start, the last at the end, and
 * each one in between at its leftmost place after the previous one (leftmost is always right for
 * star-separated segments). No segment is ever tried again, so the work is at most
 * (id length × glob length) character comparisons.
 */
export function matchesGlob(id: string, glob: string): boolean {
  const segments = glob.split("*");
  const first = segments[0] ?? "";
  if (segments.length === 1) return id.length === first.length && segmentAt(id, first, 0);
  const last = segments[segments.length - 1] ?? "";
  if (first.length + last.length > id.length) return false;
  if (!segmentAt(id, first, 0) || !segmentAt(id, last, id.length - last.length)) return false;
  let from = first.length;
  const end = id.length - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i] ?? "";
    if (segment.length === 0) continue;
    const at = findSegment(id, segment, from, end);
    if (at < 0) return false;
    from = at + segment.length;
  }
  return true;
}

export function matchesAny(id: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matchesGlob(id, glob));
}

/** Whether `segment` (literal characters and `?`) matches `id` at `at`. */
function segmentAt(id: string, segment: string, at: number): boolean {
  if (at < 0 || at + segment.length > id.length) return false;
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch !== "?" && ch !== id[at + i]) return false;
  }
  return true;
}

/** The leftmost place in `id[from, end)` where `segment` matches entirely, or -1. */
function findSegment(id: string, segment: string, from: number, end: number): number {
  for (let at = from; at + segment.length <= end; at++) if (segmentAt(id, segment, at)) return at;
  return -1;
}
