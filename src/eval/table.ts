/**
 * Plain-text tables for eval reports. The eval layer sits below the CLI, so it carries its own tiny formatter
 * rather than importing upward; numbers are right-aligned so columns of scores line up.
 */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = /^[-+]?\d/;
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - c.length));
        return i > 0 && numeric.test(c) ? pad + c : c + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A score with three decimals, the resolution that separates one case out of ~61. */
export function fmtScore(value: number): string {
  return value.toFixed(3);
}

/** A signed delta, e.g. +0.016 or -0.100; an exact zero shows without a sign. */
export function fmtDelta(value: number): string {
  const text = Math.abs(value).toFixed(3);
  if (Number(text) === 0) return text;
  return `${value > 0 ? '+' : '-'}${text}`;
}
