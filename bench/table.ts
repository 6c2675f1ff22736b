/** Plain-text result tables for the benchmark scripts. */

/**
 * Prints `rows` under `head` with columns sized to fit: the first `textColumns`
 * columns left-aligned (names), the rest right-aligned (numbers).
 */
export function printTable(head: readonly string[], rows: readonly (readonly string[])[], textColumns: number): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
