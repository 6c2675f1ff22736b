/**
 * Making task data safe to show: payloads and strings from Redis are
 * arbitrary bytes written by someone else. Everything that leaves the
 * inspector is cut to a bounded length and has its invisible or
 * direction-changing characters written as escapes, so a payload can neither
 * hide text, reorder a line (Trojan Source bidi tricks, CVE-2021-42574) nor
 * grow the page without bound. HTML safety is the page's job (text nodes
 * only); this is about what a reader sees.
 */

/** Bytes of a payload preview. */
export const PREVIEW_BYTES = 512;
/** Characters kept of an error message. */
export const ERROR_CHARS = 1024;
/** Characters kept of ids, names, consumer names. */
export const SHORT_CHARS = 200;

/**
 * Characters shown as `\uXXXX`: C0/C1 controls and DEL (except none: `\n`,
 * `\t` are escaped too, so a preview is one line), the bidi embedding,
 * override and isolate controls and marks (U+061C, U+200E/F, U+202A–E,
 * U+2066–9), zero-width characters (U+200B–D, U+2060, U+FEFF), the line and
 * paragraph separators, and lone surrogates.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Escapes the characters of {@link UNSAFE} (backslashes are left alone: the text is not meant to be unescaped). */
export function escapeInvisible(text: string): string {
  return text.replace(UNSAFE, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Cleans a string for display: escaped (see {@link escapeInvisible}) and cut
 * to `max` characters (a cut ends in `…`).
 */
export function clean(text: string, max = SHORT_CHARS): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return escapeInvisible(cut);
}

/** {@link clean} for optional values. */
export function cleanOrNull(text: unknown, max = SHORT_CHARS): string | null {
  if (text === null || text === undefined) return null;
  const s = typeof text === 'string' ? text : typeof text === 'number' || typeof text === 'boolean' ? String(text) : JSON.stringify(text);
  return s === '' ? null : clean(s, max);
}

/** A payload preview: the first {@link PREVIEW_BYTES} bytes, escaped. */
export interface Preview {
  payload: string | null;
  payloadBytes: number | null;
  payloadTruncated: boolean;
}

/**
 * The preview of `raw` (UTF-8 text as Redis gave it). A cut inside a
 * multi-byte character drops that character. `show: false` keeps only the size.
 */
export function preview(raw: string | null | undefined, show: boolean): Preview {
  if (raw === null || raw === undefined) return { payload: null, payloadBytes: null, payloadTruncated: false };
  const bytes = Buffer.byteLength(raw, 'utf8');
  if (!show) return { payload: null, payloadBytes: bytes, payloadTruncated: false };
  if (bytes <= PREVIEW_BYTES) return { payload: escapeInvisible(raw), payloadBytes: bytes, payloadTruncated: false };
  // Only the head is encoded: a 1 MB value costs one small Buffer, not a copy of itself.
  const head = Buffer.from(raw.slice(0, PREVIEW_BYTES), 'utf8').subarray(0, PREVIEW_BYTES).toString('utf8').replace(/\ufffd$/, '');
  return { payload: escapeInvisible(head), payloadBytes: bytes, payloadTruncated: true };
}

/** The last non-empty line of a traceback (Python's exception line, Ruby's message). */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? text;
}
