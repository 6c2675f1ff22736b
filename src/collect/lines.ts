/**
 * Sample lines read back into samples: the inverse of the collection
 * builder's writer (`name{k="v",…} value\n`, labels escaped as the text
 * format and OpenMetrics escape them: `\\`, `\"`, `\n`). Used by the
 * monitor API and tests; the scrape path never parses its own lines.
 */
import type { Sample } from './family.js';

/** Reads sample lines written by the collection builder back into samples (labels unescaped). */
export function parseLines(text: string): Sample[] {
  const out: Sample[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    let end = text.indexOf('\n', i);
    if (end < 0) end = n;
    const labels: Record<string, string> = {};
    let j = i;
    while (j < end && text.charCodeAt(j) !== 123 /* { */ && text.charCodeAt(j) !== 32) j++;
    if (text.charCodeAt(j) === 123) {
      j++;
      while (j < end && text.charCodeAt(j) !== 125 /* } */) {
        const eq = text.indexOf('="', j);
        const key = text.slice(j, eq);
        let k = eq + 2;
        let value = '';
        for (;;) {
          const c = text.charCodeAt(k);
          if (c === 34) break;
          if (c === 92) {
            const next = text[k + 1];
            value += next === 'n' ? '\n' : next;
            k += 2;
          } else {
            value += text[k];
            k++;
          }
        }
        labels[key] = value;
        j = k + 1;
        if (text.charCodeAt(j) === 44 /* , */) j++;
      }
      j++;
    }
    const raw = text.slice(j + 1, end);
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    out.push({ labels, value });
    i = end + 1;
  }
  return out;
}
