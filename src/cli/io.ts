import { plainJson, plainLines } from "../core/plain-text.js";

/**
 * stdout carries only a command's result (a token, JSON, a list); everything for people goes to
 * stderr. Both pass through `plainLines`: no escape sequence, carriage return or other control
 * character reaches the terminal, whatever remote text a message quotes (values that must stay on
 * their line are made plain where they are quoted, with `plainText`).
 */
export const out = (text: string): void => {
  const plain = plainLines(text);
  process.stdout.write(plain.endsWith("\n") ? plain : `${plain}\n`);
};
export const say = (text: string): void => {
  const plain = plainLines(text);
  process.stderr.write(plain.endsWith("\n") ? plain : `${plain}\n`);
};
export const json = (value: unknown): void => out(plainJson(value));
