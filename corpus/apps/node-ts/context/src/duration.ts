const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const NAMES: [number, string][] = [[86_400_000, "day"], [3_600_000, "hour"], [60_000, "minute"], [1000, "second"]];

/** "10m" -> 600000 */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(String(text).trim());
  if (!m) throw new Error(`bad duration ${JSON.stringify(text)}`);
  return Number(m[1]) * UNITS[m[2]];
}

/** 600000 -> "10 minutes" */
export function formatDuration(msValue: number): string {
  for (const [size, name] of NAMES) {
    if (msValue >= size && msValue % size === 0) {
      const n = msValue / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${msValue} ms`;
}
