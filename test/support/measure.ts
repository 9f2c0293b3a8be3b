/** Measurements the tests print (clearly labelled) besides asserting on them. */

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function report(label: string, value: unknown): void {
  // biome-ignore lint/suspicious/noConsole: measurements are meant to be printed
  console.log(`[measure] ${label}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}
