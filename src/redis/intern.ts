/**
 * A table of recently decoded short strings, by their bytes: the RESP
 * parser hands out the same string object for the same short bulk string
 * instead of decoding a new one each time.
 *
 * Why: a scrape's replies repeat the same short strings thousands of times —
 * XINFO's field names (`name`, `consumers`, `pending`, `last-delivered-id`,
 * …), group and consumer names, list elements such as task ids. Decoded one
 * by one they were the largest part of what a 10,000-queue scrape allocates
 * (issue 14: ~5 MiB of the RESP parser's garbage per scrape), and every young
 * collection that has to copy them makes the scrape slower.
 *
 * The table is direct-mapped (one slot per hash, the newest string wins), so
 * a string that does not repeat costs one byte copy into its slot and nothing
 * else; its memory is fixed (slots × {@link MAX_INTERNED_BYTES} bytes).
 */

/** Longest bulk string interned, bytes (field names, ids, short names). */
export const MAX_INTERNED_BYTES = 32;
/** Slots (a power of two). */
const SLOTS = 4096;

const bytes = new Uint8Array(SLOTS * MAX_INTERNED_BYTES);
/** Byte length of each slot's string + 1 (0 = empty slot). */
const lengths = new Uint8Array(SLOTS);
const strings: (string | undefined)[] = new Array(SLOTS).fill(undefined);

/**
 * The string for `buf[start, end)` (at most {@link MAX_INTERNED_BYTES}
 * bytes): the one decoded for the same bytes before when it is still in its
 * slot, else `decode(buf, start, end)`, remembered.
 * @param decode turns the bytes into the string (the parser's UTF-8 decoding, escapes included);
 *   it must give the same string for the same bytes
 */
export function internBytes<B extends Uint8Array>(buf: B, start: number, end: number, decode: (buf: B, start: number, end: number) => string): string {
  const len = end - start;
  // FNV-1a over the bytes.
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
  const base = slot * MAX_INTERNED_BYTES;
  if (lengths[slot] === len + 1) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (bytes[base + i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return strings[slot]!;
  }
  const text = decode(buf, start, end);
  for (let i = 0; i < len; i++) bytes[base + i] = buf[start + i]!;
  lengths[slot] = len + 1;
  strings[slot] = text;
  return text;
}
