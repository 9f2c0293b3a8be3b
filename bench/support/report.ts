/** The shape every benchmark returns: table rows plus raw data for the JSON file. */
export interface Row {
  bench: string;
  metric: string;
  value: string;
  goal?: string;
  /** true = goal met, false = missed, undefined = informational. */
  ok?: boolean;
}

export interface BenchResult {
  id: string;
  title: string;
  rows: Row[];
  data: Record<string, unknown>;
  ms: number;
}

export const fmt = {
  ms: (v: number, d = 1) => `${v.toFixed(d)} ms`,
  us: (v: number, d = 1) => `${v.toFixed(d)} µs`,
  x: (v: number, d = 3) => `${v.toFixed(d)}×`,
  bytes: (v: number) => (v >= 1024 ? `${(v / 1024).toFixed(1)} KiB (${v} B)` : `${v} B`),
};

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
