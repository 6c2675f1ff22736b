/**
 * Key names are bytes (Redis keys are binary-safe); queuescope carries them
 * as JS strings. A key that is valid UTF-8 is its plain string. A byte that
 * is not part of valid UTF-8 (0x80–0xFF) is kept as the lone surrogate
 * U+DC80–U+DCFF, the "surrogateescape" mapping of Python's PEP 383: no valid
 * UTF-8 decodes to a lone surrogate, so the mapping is reversible and exact.
 * Replies are decoded this way ({@link decodeBytes}) and commands encoded
 * back ({@link encodeString}), so a key read by SCAN is queried under
 * exactly its own bytes, never under U+FFFD.
 *
 * For label values (which Prometheus wants as valid UTF-8) such a byte is
 * written as the four characters `\xNN` ({@link escapeForLabel}).
 */

// `u`: a lone low surrogate only, not the second half of a pair (U+10C80 is D803 DC80, valid text).
const ESCAPED = /[\uDC80-\uDCFF]/u;

/** Whether `s` holds an escaped byte (then it must be encoded with {@link encodeString}, not as UTF-8). */
export function hasEscapedBytes(s: string): boolean {
  return ESCAPED.test(s);
}

/**
 * Decodes `buf[start, end)`: valid UTF-8 as text, each byte outside valid
 * UTF-8 as U+DC00 + byte. Strict UTF-8 (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF.
 */
export function decodeBytes(buf: Uint8Array, start = 0, end = buf.length): string {
  let out = '';
  let run = start; // start of the pending valid run
  let i = start;
  const flush = (to: number): void => {
    if (to > run) out += Buffer.from(buf.buffer, buf.byteOffset + run, to - run).toString('utf8');
  };
  while (i < end) {
    const b0 = buf[i]!;
    let n = 0;
    if (b0 < 0x80) n = 1;
    else if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) n = 3;
    else if (b0 >= 0xf0 && b0 <= 0xf4) n = 4;
    let ok = n > 0 && i + n <= end;
    if (ok && n > 1) {
      const b1 = buf[i + 1]!;
      if (b0 === 0xe0) ok = b1 >= 0xa0 && b1 <= 0xbf;
      else if (b0 === 0xed) ok = b1 >= 0x80 && b1 <= 0x9f; // no surrogates
      else if (b0 === 0xf0) ok = b1 >= 0x90 && b1 <= 0xbf;
      else if (b0 === 0xf4) ok = b1 >= 0x80 && b1 <= 0x8f;
      else ok = b1 >= 0x80 && b1 <= 0xbf;
      for (let k = 2; ok && k < n; k++) {
        const bk = buf[i + k]!;
        ok = bk >= 0x80 && bk <= 0xbf;
      }
    }
    if (ok) {
      i += n;
      continue;
    }
    flush(i);
    out += String.fromCharCode(0xdc00 + b0);
    i++;
    run = i;
  }
  flush(end);
  return out;
}

/** The bytes `s` stands for: UTF-8, with each escaped byte (U+DC80–U+DCFF) as itself. */
export function encodeString(s: string): Buffer {
  if (!hasEscapedBytes(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++; // a pair: ordinary text
      continue;
    }
    if (c < 0xdc80 || c > 0xdcff) continue;
    if (i > run) parts.push(Buffer.from(s.slice(run, i), 'utf8'));
    parts.push(Buffer.from([c - 0xdc00]));
    run = i + 1;
  }
  if (run < s.length) parts.push(Buffer.from(s.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * A string fit for a label value: escaped bytes become `\xNN` (lowercase
 * hex), any other lone surrogate U+FFFD; valid text is unchanged.
 */
export function escapeForLabel(s: string): string {
  if (!/[\uD800-\uDFFF]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\uFFFD';
    } else if (c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - 0xdc00).toString(16).padStart(2, '0')}`;
    else if (c >= 0xdc00 && c <= 0xdfff) out += '\uFFFD';
    else out += s[i]!;
  }
  return out;
}
