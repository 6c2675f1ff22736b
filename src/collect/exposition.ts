/**
 * Renders metric families as the Prometheus text exposition format 0.0.4 or as
 * OpenMetrics 1.0.0. Written by hand because it is on every scrape's hot path:
 * tens of thousands of samples render in a few milliseconds, without the
 * per-sample label hashing a general-purpose registry does.
 *
 * Format sources: prometheus.io "Exposition formats" (text 0.0.4) and the
 * OpenMetrics 1.0 specification (counter family names without `_total`,
 * `info` type whose samples end in `_info`, mandatory `# EOF`).
 */
import { escapeForLabel } from '../redis/bytes.js';
import type { Family } from './family.js';
import type { Labels, MetricType } from './types.js';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Which format to answer for an Accept header (OpenMetrics only when asked for). */
export function negotiate(accept: string | undefined): 'text' | 'openmetrics' {
  return accept !== undefined && accept.includes('application/openmetrics-text') ? 'openmetrics' : 'text';
}

/**
 * A label value escaped for the exposition (`\\`, `"` and newline; the rest as
 * is). A key byte outside UTF-8 (carried as a lone surrogate, see
 * redis/bytes.ts) is written as `\xNN`.
 */
export function escapeLabel(v: string): string {
  // A char scan beats a regex test for the short values labels have.
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92 || c === 34 || c === 10 || (c >= 0xd800 && c <= 0xdfff)) {
      return escapeForLabel(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    }
  }
  return v;
}

function escapeHelp(v: string, openMetrics: boolean): string {
  let out = escapeForLabel(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  if (openMetrics) out = out.replace(/"/g, '\\"');
  return out;
}

/** A sample value as the exposition writes it (`NaN`, `+Inf`, `-Inf`, else JS' shortest round-trip decimal). */
export function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? '+Inf' : '-Inf';
}

/** `{k="v",…}` for `labels` in their key order, escaped; `''` for no labels. */
export function labelText(labels: Labels): string {
  let out = '';
  for (const k in labels) {
    out += (out === '' ? '{' : ',') + k + '="' + escapeLabel(labels[k]!) + '"';
  }
  return out === '' ? '' : out + '}';
}

/**
 * The `# HELP` / `# TYPE` lines of a family in `format` (OpenMetrics: counter
 * family names without `_total`, `info` families without `_info`; text 0.0.4
 * has no `info` type and says `gauge`).
 */
export function familyHeader(name: string, type: MetricType, help: string, format: 'text' | 'openmetrics'): string {
  const om = format === 'openmetrics';
  let familyName = name;
  let t: string = type;
  if (om && type === 'counter' && familyName.endsWith('_total')) familyName = familyName.slice(0, -6);
  if (type === 'info') {
    if (om && familyName.endsWith('_info')) familyName = familyName.slice(0, -5);
    else t = 'gauge';
  }
  return `# HELP ${familyName} ${escapeHelp(help, om)}\n# TYPE ${familyName} ${t}\n`;
}

/**
 * Renders families (empty families are skipped: a HELP/TYPE without samples
 * says nothing and some linters flag it).
 * @param eof append OpenMetrics' `# EOF` (set only on the last chunk of a page).
 */
export function render(families: Iterable<Family>, format: 'text' | 'openmetrics', eof = format === 'openmetrics'): string {
  const parts: string[] = [];
  for (const fam of families) {
    if (fam.samples.length === 0) continue;
    parts.push(familyHeader(fam.name, fam.type, fam.help, format));
    const sampleName = fam.name;
    let body = '';
    for (const s of fam.samples) body += (s.name ?? sampleName) + labelText(s.labels) + ' ' + formatValue(s.value) + '\n';
    parts.push(body);
  }
  if (eof) parts.push('# EOF\n');
  return parts.join('');
}
