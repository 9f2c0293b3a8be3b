import { MAX_IDP_MESSAGE_CHARS } from "./defaults.js";

/** C0/C1 controls, zero-width and bidirectional formatting characters: never sent to a terminal. */
function unsafeForTerminal(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** An IdP's human-readable text made safe for a terminal: such characters become spaces, length is bounded. */
export function plainText(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  let text = "";
  for (const char of value.slice(0, MAX_IDP_MESSAGE_CHARS)) {
    text += unsafeForTerminal(char.codePointAt(0) ?? 0) ? " " : char;
  }
  text = text.replace(/ {2,}/g, " ").trim();
  return text || undefined;
}
