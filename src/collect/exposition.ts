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
import type { Family } from './family.js';
import type { Labels } from './types.js';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Which format to answer for an Accept header (OpenMetrics only when asked for). */
export function negotiate(accept: string | undefined): 'text' | 'openmetrics' {
  return accept !== undefined && accept.includes('application/openmetrics-text') ? 'openmetrics' : 'text';
}

function escapeLabel(v: string): string {
  // Only \, " and newline need escaping; the fast path skips the regex for plain values.
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function escapeHelp(v: string, openMetrics: boolean): string {
  let out = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  if (openMetrics) out = out.replace(/"/g, '\\"');
  return out;
}

function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? '+Inf' : '-Inf';
}

function labelText(labels: Labels): string {
  let out = '';
  for (const k in labels) {
    out += out === '' ? '{' : ',';
    out += `${k}="${escapeLabel(labels[k]!)}"`;
  }
  return out === '' ? '' : `${out}}`;
}

/**
 * Renders families (empty families are skipped: a HELP/TYPE without samples
 * says nothing and some linters flag it).
 * @param eof append OpenMetrics' `# EOF` (set only on the last chunk of a page).
 */
export function render(families: Iterable<Family>, format: 'text' | 'openmetrics', eof = format === 'openmetrics'): string {
  const om = format === 'openmetrics';
  const parts: string[] = [];
  for (const fam of families) {
    if (fam.samples.length === 0) continue;
    let familyName = fam.name;
    let type: string = fam.type;
    if (om && fam.type === 'counter' && familyName.endsWith('_total')) familyName = familyName.slice(0, -6);
    if (fam.type === 'info') {
      if (om && familyName.endsWith('_info')) familyName = familyName.slice(0, -5);
      else type = 'gauge';
    }
    if (!om && fam.type === 'info') type = 'gauge';
    parts.push(`# HELP ${familyName} ${escapeHelp(fam.help, om)}\n# TYPE ${familyName} ${type}\n`);
    const sampleName = fam.name;
    let body = '';
    for (const s of fam.samples) body += `${s.name ?? sampleName}${labelText(s.labels)} ${formatValue(s.value)}\n`;
    parts.push(body);
  }
  if (eof) parts.push('# EOF\n');
  return parts.join('');
}
