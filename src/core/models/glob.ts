/** Model-id globs: `*` any text (also `/`), `?` one character, everything else literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split("")
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`);
}

export function matchesAny(id: string, globs: readonly string[]): boolean {
  return globs.some((glob) => globToRegExp(glob).test(id));
}
