import { MAX_IDP_MESSAGE_CHARS } from "./defaults.js";

/** C0/C1 controls, zero-width and bidirectional formatting characters: never sent to a terminal. */
function unsafeForTerminal(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x200b && code <= 0x200f) ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/**
 * Remote text (an IdP's message, a claim, a model id) made safe for a terminal: such characters
 * become spaces, so a value can neither move the cursor, recolour the screen nor start a line of
 * its own; length is bounded.
 */
export function plainText(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  let text = "";
  for (const char of value.slice(0, MAX_IDP_MESSAGE_CHARS)) {
    text += unsafeForTerminal(char.codePointAt(0) ?? 0) ? " " : char;
  }
  text = text.replace(/ {2,}/g, " ").trim();
  return text || undefined;
}

/** Whether `value` has a character `plainText` would replace (no real model id or user code has one). */
export function hasControlCharacters(value: string): boolean {
  for (const char of value) if (unsafeForTerminal(char.codePointAt(0) ?? 0)) return true;
  return false;
}

/**
 * A whole block of text for a terminal: like `plainText`, but its own line breaks and tabs are
 * kept and nothing is cut (the last line of defence of the CLI's output; values quoted into such a
 * block are made plain where they are quoted).
 */
export function plainLines(value: string): string {
  let text = "";
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    text += code !== 0x0a && code !== 0x09 && unsafeForTerminal(code) ? " " : char;
  }
  return text;
}

/**
 * JSON, pretty-printed, with the characters JSON.stringify leaves raw (C1 controls, zero-width,
 * line separators, bidirectional overrides) written as `\u` escapes: the same data for a parser,
 * nothing a terminal would act on.
 */
export function plainJson(value: unknown): string {
  const json = JSON.stringify(value, null, 2) ?? "null";
  let text = "";
  for (const char of json) {
    const code = char.codePointAt(0) ?? 0;
    // Outside strings JSON has only spaces and line breaks; inside, C0 controls are escaped already.
    text += code >= 0x7f && unsafeForTerminal(code) ? `\\u${code.toString(16).padStart(4, "0")}` : char;
  }
  return text;
}
