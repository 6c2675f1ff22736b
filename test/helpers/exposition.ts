/** Parses Prometheus text exposition into `name{a="b",…}` -> value for assertions (labels sorted). */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: [string, string][] = [];
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l; (l = re.exec(m[3] ?? '')); ) labels.push([l[1]!, l[2]!]);
    labels.sort((a, b) => a[0].localeCompare(b[0]));
    out.set(seriesKey(m[1]!, Object.fromEntries(labels)), Number(m[4]));
  }
  return out;
}

/** The key parseExposition uses for a series. */
export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? name : `${name}{${keys.map((k) => `${k}="${labels[k]}"`).join(',')}}`;
}
