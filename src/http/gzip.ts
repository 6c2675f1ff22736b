/**
 * gzip for the /metrics page, compressing the shared part once.
 *
 * A page is the collection's exposition (shared by every scraper of that
 * collection: in flight or via `scrape.cacheFor`) followed by the process's
 * own metrics (different on every request). Compressing the whole page per
 * request would redo the expensive part for each scraper, and concatenating
 * two gzip *members* is valid RFC 1952 but refused by curl (curl/curl#22156)
 * and some browsers. So the shared part is compressed once as raw DEFLATE
 * ending in a full flush (byte-aligned, no final block, and nothing after it
 * refers back into it), and each answer is one gzip member: header + that
 * cached deflate data + the per-request tail's own deflate stream (final
 * block) + CRC-32 and length of the whole text. RFC 1951 (a full flush point
 * resets the window), RFC 1952 (member layout), Node's `zlib.crc32(data,
 * value)` to chain the checksum.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** A piece of a page, deflated up to a full flush point. */
export interface DeflatedPart {
  /** Raw DEFLATE blocks, none final, ending byte-aligned after a full flush. */
  readonly deflated: Buffer;
  /** CRC-32 of the uncompressed bytes. */
  readonly crc: number;
  /** Uncompressed length in bytes. */
  readonly length: number;
}

/**
 * zlib level for /metrics: 1 (fastest). A text exposition is very repetitive
 * and shrinks ~10x even at level 1; higher levels cost several times more CPU
 * on a multi-megabyte page for a few percent.
 */
export const METRICS_GZIP_LEVEL = 1;

/** Deflates `text` (UTF-8) up to a full flush point, for {@link gzipJoin}. */
export function deflatePart(text: string | Buffer, level = METRICS_GZIP_LEVEL): DeflatedPart {
  return deflateParts([typeof text === 'string' ? Buffer.from(text, 'utf8') : text], level);
}

/**
 * Pieces smaller than this are joined before deflating: each deflate call
 * sets up its own zlib state (~256 KiB) and a full flush per tiny header
 * would cost ratio for nothing.
 */
const JOIN_BELOW_BYTES = 64 * 1024;

/**
 * Where runs of small pieces are joined before deflating; reused by every
 * call (deflateRawSync is done with its input when it returns), so a
 * multi-megabyte page leaves no joined copies behind for the next full GC.
 */
let joinScratch = Buffer.allocUnsafeSlow(2 * JOIN_BELOW_BYTES);

/** `run` (under 2 × {@link JOIN_BELOW_BYTES} bytes in all) copied end to end into the scratch buffer. */
function joined(run: readonly Buffer[], bytes: number): Buffer {
  if (joinScratch.length < bytes) joinScratch = Buffer.allocUnsafeSlow(bytes);
  let at = 0;
  for (const piece of run) at += piece.copy(joinScratch, at);
  return joinScratch.subarray(0, bytes);
}

/**
 * {@link deflatePart} of the concatenation of `pieces`, without building it:
 * runs of small pieces are joined (under {@link JOIN_BELOW_BYTES}), large ones
 * are deflated where they are. Each run is its own raw DEFLATE stream ending
 * in a full flush, and a full flush point resets the window (RFC 1951), so the
 * runs' outputs placed end to end are one valid stream of non-final blocks;
 * the CRC-32 is chained over the pieces in order.
 */
export function deflateParts(pieces: readonly Buffer[], level = METRICS_GZIP_LEVEL): DeflatedPart {
  const out: Buffer[] = [];
  let crc = 0;
  let length = 0;
  let run: Buffer[] = [];
  let runBytes = 0;
  const flush = (): void => {
    if (runBytes === 0) return;
    const data = run.length === 1 ? run[0]! : joined(run, runBytes);
    out.push(deflateRawSync(data, { level, finishFlush: constants.Z_FULL_FLUSH }));
    // never crc32 an empty buffer (see gzipJoin): runBytes > 0 here
    crc = crc32(data, crc);
    length += runBytes;
    run = [];
    runBytes = 0;
  };
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    // a large piece is deflated alone: the run before it goes first, and it flushes itself below
    if (piece.length >= JOIN_BELOW_BYTES) flush();
    run.push(piece);
    runBytes += piece.length;
    if (runBytes >= JOIN_BELOW_BYTES) flush();
  }
  flush();
  return { deflated: out.length === 1 ? out[0]! : Buffer.concat(out), crc, length };
}

/** The 10-byte gzip member header: deflate, no flags, no mtime, OS unknown (RFC 1952 2.3). */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]);

/**
 * One gzip member whose content is `head` followed by `tail`.
 * @param head a part from {@link deflatePart} (may be shared between calls)
 * @param tail the rest of the page (deflated here, with the final block)
 * @returns the complete gzip body
 */
export function gzipJoin(head: DeflatedPart, tail: string | Buffer, level = METRICS_GZIP_LEVEL): Buffer {
  const tailData = typeof tail === 'string' ? Buffer.from(tail, 'utf8') : tail;
  // Checksum first, and never of an empty buffer: Node 20's crc32 of an empty buffer that went
  // through deflateRawSync answers 0 instead of the running value.
  const crc = tailData.length === 0 ? head.crc : crc32(tailData, head.crc);
  const tailDeflated = deflateRawSync(tailData, { level });
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((head.length + tailData.length) % 0x1_0000_0000, 4);
  return Buffer.concat([HEADER, head.deflated, tailDeflated, trailer]);
}

/**
 * Whether an `Accept-Encoding` header admits gzip (RFC 9110 12.5.3: `gzip`,
 * `x-gzip` or `*` with a q-value above 0).
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const text = Array.isArray(header) ? header.join(',') : header;
  let star = false;
  let gzip: boolean | undefined;
  for (const item of text.split(',')) {
    const [coding = '', ...params] = item.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    const ok = Number.isFinite(q) && q > 0;
    if (coding === 'gzip' || coding === 'x-gzip') gzip = ok;
    else if (coding === '*') star = ok;
  }
  return gzip ?? star;
}
