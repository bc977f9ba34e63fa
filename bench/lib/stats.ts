/** Small statistics for benches: percentiles and side-by-side ratio lines. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function formatMs(value: number): string {
  return value < 1 ? `${(value * 1000).toFixed(0)} µs` : `${value.toFixed(2)} ms`;
}

/** One printed line: "label  p50 a vs b → ratio×  (target)". */
export function ratioLine(
  label: string,
  measured: number[],
  baseline: number[],
  p: number,
  target?: number,
): string {
  const a = percentile(measured, p);
  const b = percentile(baseline, p);
  const ratio = a / b;
  const verdict =
    target === undefined ? "" : ratio <= target ? `  ✓ target ≤ ${target}×` : `  ✗ target ≤ ${target}×`;
  return `${label} p${p}: ${formatMs(a)} vs ${formatMs(b)} → ${ratio.toFixed(2)}×${verdict}`;
}
