/** stdout carries only a command's result (a token, JSON, a list); everything for people goes to stderr. */
export const out = (text: string): void => {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
};
export const say = (text: string): void => {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
};
export const json = (value: unknown): void => out(JSON.stringify(value, null, 2));
