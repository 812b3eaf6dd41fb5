// Gateway API durations (GEP-2257): e.g. "1h", "10s", "500ms", "1h30m"; at most 4 units.
const DURATION_RE = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds, or undefined when the text is not a valid Gateway API duration. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}
