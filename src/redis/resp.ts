/**
 * RESP2 on the scrape path, written by hand so a batch of ~10k commands costs
 * one Buffer to send and one pass to read (no per-command objects, promises or
 * timers as a general-purpose client creates).
 *
 * Source: the Redis serialization protocol specification, RESP2
 * (redis.io/docs/latest/develop/reference/protocol-spec): requests are arrays
 * of bulk strings; replies are simple strings `+`, errors `-`, integers `:`,
 * bulk strings `$` (`$-1` is nil), and arrays `*` (`*-1` is nil), every line
 * ending in CRLF. RESP3 is not handled: queuescope never sends `HELLO 3`.
 */
import { isUtf8 } from 'node:buffer';
import { decodeBytes, encodeString, hasEscapedBytes } from './bytes.js';
import type { Command } from './command.js';
import { internBytes, MAX_INTERNED_BYTES } from './intern.js';

/**
 * One decoded RESP2 reply. Bulk and simple strings are UTF-8 strings; a byte
 * of a bulk string outside valid UTF-8 is kept as a lone surrogate
 * (`redis/bytes.ts`), so a binary key name survives byte for byte. Integers JS numbers (precision is lost above
 * 2^53, as with ioredis), nil `null`, an error reply a {@link RespReplyError},
 * arrays nested arrays (what ioredis returns from a pipeline, before its
 * per-command reply transformers).
 */
export type RespValue = string | number | null | RespReplyError | RespValue[];

/**
 * Bounds on what one reply may make the parser hold (config `redis.maxBulkBytes`,
 * `redis.maxReplyBytes`, `redis.maxReplyElements`). A reply past any of them is
 * read to its end and thrown away, and delivered as a {@link RespReplyError}
 * in its place: that command fails, its collector reports success 0, the
 * connection stays in step and nothing large is ever allocated.
 */
export interface RespLimits {
  /** Largest bulk string kept, bytes. */
  readonly maxBulkBytes: number;
  /** Largest top-level reply kept, bytes on the wire (headers and payloads). */
  readonly maxReplyBytes: number;
  /** Most array elements in one top-level reply, all nesting levels together. */
  readonly maxReplyElements: number;
}

/** Defaults of {@link RespLimits}: far above any reply the scrape path asks for, far below what hurts. */
export const DEFAULT_RESP_LIMITS: RespLimits = { maxBulkBytes: 16 * 1024 * 1024, maxReplyBytes: 64 * 1024 * 1024, maxReplyElements: 1_000_000 };

/** Longest header line (`+…`, `-…`, `:…`, `$n`, `*n`) accepted before the stream is declared broken, bytes. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * A Redis error reply (`-WRONGTYPE Operation against…`), delivered as a value,
 * not thrown. `message` is the line without the leading `-`, as ioredis'
 * `ReplyError` has it.
 */
export class RespReplyError extends Error {
  override readonly name = 'ReplyError';
}

/** The byte stream is not RESP2 (a desynchronised or foreign peer). The connection must be dropped. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

const CR = 13;
const LF = 10;

/** Decimal digits of a non-negative safe integer. */
function digits(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  let d = 4;
  for (let p = 10_000; p <= n && d < 16; p *= 10) d++;
  return d < 16 ? d : String(n).length;
}

/** Writes a non-negative safe integer in decimal at `off`; returns the new offset. */
function writeUint(buf: Buffer, off: number, n: number): number {
  // Most are lengths and counts of one or two digits.
  if (n < 10) {
    buf[off] = 48 + n;
    return off + 1;
  }
  if (n < 100) {
    const tens = (n / 10) | 0;
    buf[off] = 48 + tens;
    buf[off + 1] = 48 + n - tens * 10;
    return off + 2;
  }
  const end = off + digits(n);
  let v = n;
  let i = end - 1;
  // Float division only above int32 (clock values in ms); integer arithmetic below.
  for (; v > 0x7fffffff; i--) {
    const q = Math.floor(v / 10);
    buf[i] = 48 + (v - q * 10);
    v = q;
  }
  for (; i >= off; i--) {
    const q = (v / 10) | 0;
    buf[i] = 48 + (v - q * 10);
    v = q;
  }
  return end;
}

/** How {@link encodeCommands} writes an argument (decided once, in its first pass). */
const enum ArgKind {
  /** A string whose characters are all ASCII: one byte each. */
  Ascii,
  /** Any other string: UTF-8 (`buf.write`). */
  Utf8,
  /** A string holding escaped key bytes: the bytes it stands for (`redis/bytes.ts`). */
  Raw,
  /** A safe integer: its decimal digits, written without a string. */
  Integer,
  /** Any other finite number: `String(n)` (ASCII). */
  NumberText,
}

/** Strings up to this long are checked for ASCII by a loop, longer ones by `Buffer.byteLength`. */
const SHORT_STRING = 64;

/** Whether every character of `s` is ASCII (`s` is short: see {@link SHORT_STRING}). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Reused between calls, per argument of the batch being encoded: its kind,
 * its byte length, and its text when the second pass needs one computed in
 * the first (a number's `String(n)`) or its exact bytes (escaped key bytes).
 */
let kinds = new Uint8Array(1024);
let lengths = new Int32Array(1024);
let extras: (string | Buffer | undefined)[] = [];

/**
 * Encodes commands as RESP2 arrays of bulk strings, the whole batch in one
 * Buffer (lengths are computed first, then everything is written in place).
 * Numbers are sent as their decimal strings (`String(n)`; a safe integer's
 * digits are written without making one), strings as UTF-8 with escaped key
 * bytes (`redis/bytes.ts`) sent as the bytes they stand for.
 * @param ends when given, `ends[i]` receives the byte offset just past command `i` (its length at least `commands.length`)
 * @throws TypeError for a non-finite number argument (NaN, Infinity).
 */
export function encodeCommands(commands: readonly Command[], ends?: Int32Array): Buffer {
  let nargs = 0;
  for (const c of commands) nargs += c.length;
  if (lengths.length < nargs) {
    const size = Math.max(nargs, lengths.length * 2);
    lengths = new Int32Array(size);
    kinds = new Uint8Array(size);
  }
  const lens = lengths;
  const kind = kinds;
  let total = 0;
  let k = 0;
  let extra = false;
  for (const c of commands) {
    total += 3 + digits(c.length); // *n\r\n
    for (let i = 0; i < c.length; i++) {
      const arg = c[i]!;
      let len: number;
      if (typeof arg === 'number') {
        if (Number.isSafeInteger(arg)) {
          kind[k] = ArgKind.Integer;
          len = arg < 0 ? 1 + digits(-arg) : digits(arg);
        } else {
          if (!Number.isFinite(arg)) throw new TypeError(`RESP argument ${arg} is not a finite number`);
          const text = String(arg);
          kind[k] = ArgKind.NumberText;
          extras[k] = text;
          extra = true;
          len = text.length;
        }
      } else if (arg.length <= SHORT_STRING && isAscii(arg)) {
        kind[k] = ArgKind.Ascii;
        len = arg.length;
      } else {
        len = Buffer.byteLength(arg, 'utf8');
        if (len !== arg.length && hasEscapedBytes(arg)) {
          const bytes = encodeString(arg);
          kind[k] = ArgKind.Raw;
          extras[k] = bytes;
          extra = true;
          len = bytes.length;
        } else {
          kind[k] = len === arg.length ? ArgKind.Ascii : ArgKind.Utf8;
        }
      }
      lens[k++] = len;
      total += 5 + digits(len) + len; // $len\r\n…\r\n
    }
  }
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  k = 0;
  for (let ci = 0; ci < commands.length; ci++) {
    const c = commands[ci]!;
    buf[off++] = 42; // *
    off = writeUint(buf, off, c.length);
    buf[off++] = CR;
    buf[off++] = LF;
    for (let i = 0; i < c.length; i++) {
      const arg = c[i]!;
      const len = lens[k]!;
      buf[off++] = 36; // $
      off = writeUint(buf, off, len);
      buf[off++] = CR;
      buf[off++] = LF;
      switch (kind[k]) {
        case ArgKind.Integer: {
          let n = arg as number;
          if (n < 0) {
            buf[off++] = 45; // -
            n = -n;
          }
          off = writeUint(buf, off, n);
          break;
        }
        case ArgKind.Ascii: {
          const text = arg as string;
          if (len <= SHORT_STRING) {
            // a plain copy beats buf.write's call overhead for short keys
            for (let j = 0; j < len; j++) buf[off + j] = text.charCodeAt(j);
            off += len;
          } else {
            off += buf.write(text, off, len, 'latin1');
          }
          break;
        }
        case ArgKind.NumberText: {
          const text = extras[k] as string;
          for (let j = 0; j < len; j++) buf[off + j] = text.charCodeAt(j);
          off += len;
          break;
        }
        case ArgKind.Raw:
          off += (extras[k] as Buffer).copy(buf, off);
          break;
        default:
          off += buf.write(arg as string, off, len, 'utf8');
      }
      buf[off++] = CR;
      buf[off++] = LF;
      k++;
    }
    if (ends) ends[ci] = off;
  }
  // Let the texts and bytes go with the batch.
  if (extra) extras = [];
  return buf;
}

/** An array being filled: the elements read so far. */
interface Frame {
  items: RespValue[];
  filled: number;
}

/** What a frame not in use points at (it must not keep a delivered reply alive). */
const NO_ITEMS: RespValue[] = [];

/** A top-level reply being thrown away because it broke a limit. */
interface Skip {
  /** Values (at any depth) whose headers are still to come before the reply is complete. */
  remaining: number;
  readonly reason: string;
}

const EMPTY = Buffer.alloc(0);
const REPLACEMENT = '\uFFFD';

/** A bulk string's bytes as a string; bytes outside valid UTF-8 are escaped, not replaced (`redis/bytes.ts`). */
function bulkValue(buf: Buffer, start: number, end: number): string {
  const text = buf.toString('utf8', start, end);
  // Decoding replaces invalid sequences with U+FFFD; only then is the (rarer) exact check needed.
  if (text.includes(REPLACEMENT) && !isUtf8(buf.subarray(start, end))) return decodeBytes(buf, start, end);
  return text;
}

/**
 * Streaming RESP2 reply parser. {@link push} chunks as the socket delivers
 * them; every complete top-level reply is handed to `onReply` in order.
 *
 * Replies may be split at any byte (inside a length header, inside CRLF, in
 * the middle of a bulk string). The parser keeps its place: arrays under
 * construction stay on a stack, so a partial reply is never parsed twice; an
 * unfinished bulk string keeps its chunks in a list and is joined once,
 * when complete. Only an unfinished header line (at most
 * {@link MAX_LINE_BYTES}) is ever copied again, so parsing is linear in the
 * bytes received however they are cut.
 *
 * Sizes are bounded by {@link RespLimits}: a length header past them switches
 * to skipping (bytes counted, not kept) until that reply ends.
 */
export class RespParser {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** The chunk being parsed is reused by the caller afterwards (see {@link push}). */
  private transient = false;
  /**
   * The arrays being filled, outermost first: `frames[0, depth)`. Frames are
   * reused by depth (a 10,000-queue batch opens ~27,000 arrays: no frame
   * object per array).
   */
  private readonly frames: Frame[] = [];
  private depth = 0;
  /** Bytes the pending bulk string still needs incl. its CRLF; -1 when none is pending. */
  private bulkLen = -1;
  private bulkChunks: Buffer[] = [];
  private bulkHave = 0;
  /** Bytes still to throw away (a skipped bulk string and its CRLF). */
  private discard = 0;
  private skip: Skip | undefined;
  /** Wire bytes and array elements of the current top-level reply so far. */
  private replyBytes = 0;
  private replyElements = 0;
  private readonly limits: RespLimits;

  /**
   * @param onReply receives each complete top-level reply.
   * @param limits size caps; default {@link DEFAULT_RESP_LIMITS}.
   */
  constructor(
    private readonly onReply: (reply: RespValue) => void,
    limits: Partial<RespLimits> = {},
  ) {
    this.limits = { ...DEFAULT_RESP_LIMITS, ...limits };
  }

  /** Times {@link reset} was called (a reply handler may reset the parser mid-chunk). */
  private resets = 0;

  /** Forgets any partial reply (after the connection was dropped). */
  reset(): void {
    this.resets++;
    this.buf = EMPTY;
    this.pos = 0;
    this.dropFrames();
    this.bulkLen = -1;
    this.bulkChunks = [];
    this.bulkHave = 0;
    this.discard = 0;
    this.skip = undefined;
    this.replyBytes = 0;
    this.replyElements = 0;
  }

  /**
   * Feeds bytes; calls `onReply` for every reply they complete.
   * @param transient the caller reuses `chunk`'s memory after this call (a socket's
   *   static read buffer, `onread`): whatever the parser keeps of it for the next
   *   call (an unfinished header line or bulk string) is copied first.
   * @throws RespProtocolError when the stream is not RESP2 (the parser must then be reset).
   */
  push(chunk: Buffer, transient = false): void {
    this.transient = transient;
    try {
      this.take(chunk);
    } finally {
      if (transient) this.detach();
    }
  }

  /** Copies what the parser keeps of a transient chunk (see {@link push}). */
  private detach(): void {
    this.transient = false;
    this.buf = this.pos < this.buf.length ? Buffer.from(this.buf.subarray(this.pos)) : EMPTY;
    this.pos = 0;
  }

  private take(chunk: Buffer): void {
    if (this.discard > 0) {
      if (chunk.length <= this.discard) {
        this.discard -= chunk.length;
        if (this.discard === 0 && this.skipDone()) return;
        return;
      }
      const rest = chunk.subarray(this.discard);
      this.discard = 0;
      this.buf = rest;
      this.pos = 0;
      if (this.skipDone()) return;
    } else if (this.bulkLen >= 0) {
      // Only the bytes the bulk string still needs are joined: the rest of the chunk is parsed where it is.
      const need = this.bulkLen + 2 - this.bulkHave;
      const part = chunk.length > need ? chunk.subarray(0, need) : chunk;
      this.bulkChunks.push(this.transient ? Buffer.from(part) : part);
      this.bulkHave += part.length;
      if (this.bulkHave < this.bulkLen + 2) return;
      const joined = Buffer.concat(this.bulkChunks, this.bulkHave);
      const len = this.bulkLen;
      this.bulkChunks = [];
      this.bulkHave = 0;
      this.bulkLen = -1;
      if (joined[len] !== CR || joined[len + 1] !== LF) throw new RespProtocolError('bulk string not terminated by CRLF');
      this.buf = EMPTY;
      this.pos = 0;
      if (!this.deliver(bulkValue(joined, 0, len))) this.take(chunk.subarray(part.length));
      return;
    } else if (this.pos < this.buf.length) {
      // An unfinished header line: complete it from the chunk's first bytes (a header is at most
      // MAX_LINE_BYTES) and parse the rest of the chunk where it is, instead of copying it all.
      const lf = chunk.indexOf(LF);
      if (lf >= 0 && lf + 1 < chunk.length) {
        this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, lf + 1)]);
        this.pos = 0;
        const resets = this.resets;
        this.parse();
        if (this.resets === resets) this.take(chunk.subarray(lf + 1));
        return;
      }
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
    } else {
      this.buf = chunk;
      this.pos = 0;
    }
    this.parse();
  }

  /**
   * Adds a finished value to the array being built (completing enclosing
   * arrays as they fill up) or hands it over as a top-level reply.
   * @returns true if `onReply` reset this parser (parsing must stop).
   */
  private deliver(value: RespValue): boolean {
    let v = value;
    const frames = this.frames;
    for (;;) {
      if (this.depth === 0) {
        const resets = this.resets;
        this.replyBytes = 0;
        this.replyElements = 0;
        this.onReply(v);
        return this.resets !== resets;
      }
      const top = frames[this.depth - 1]!;
      top.items[top.filled++] = v;
      if (top.filled < top.items.length) return false;
      this.depth--;
      v = top.items;
      top.items = NO_ITEMS;
    }
  }

  /** Opens an array of `n` (> 0) elements. */
  private openArray(n: number): void {
    const items = new Array<RespValue>(n);
    const frame = this.frames[this.depth];
    if (frame) {
      frame.items = items;
      frame.filled = 0;
    } else {
      this.frames.push({ items, filled: 0 });
    }
    this.depth++;
  }

  /** Forgets the arrays being filled. */
  private dropFrames(): void {
    for (let d = 0; d < this.depth; d++) this.frames[d]!.items = NO_ITEMS;
    this.depth = 0;
  }

  /** Stops keeping the current top-level reply: what was built is dropped, the rest will be counted only. */
  private startSkip(reason: string): void {
    let remaining = 1;
    if (this.depth > 0) {
      // Every open array's missing elements, less the open arrays themselves (their headers are read).
      remaining = 0;
      for (let d = 0; d < this.depth; d++) remaining += this.frames[d]!.items.length - this.frames[d]!.filled;
      remaining -= this.depth - 1;
    }
    this.dropFrames();
    this.skip = { remaining, reason };
  }

  /** When the skipped reply is complete, delivers its error in its place. @returns true if parsing must stop (see {@link deliver}). */
  private skipDone(): boolean {
    const skip = this.skip;
    if (!skip || skip.remaining > 0 || this.discard > 0) return false;
    this.skip = undefined;
    return this.deliver(new RespReplyError(`ERR reply too large for queuescope: ${skip.reason}`));
  }

  private parse(): void {
    const buf = this.buf;
    const end = buf.length;
    let pos = this.pos;
    while (pos < end) {
      const lineStart = pos;
      const type = buf[pos]!;
      // Header lines are a few bytes (`$5`, `:42`, `*2`): a byte loop beats a native indexOf call per line.
      let cr = pos + 1;
      const stop = Math.min(end, pos + MAX_LINE_BYTES + 2);
      while (cr < stop && buf[cr] !== CR) cr++;
      if (cr === stop) cr = -1;
      if (cr < 0 || cr + 1 >= end) {
        // header line not complete yet; a line this long is no RESP a server sends
        if (end - pos > MAX_LINE_BYTES) throw new RespProtocolError(`header line longer than ${MAX_LINE_BYTES} bytes`);
        break;
      }
      if (buf[cr + 1] !== LF) throw new RespProtocolError('line not terminated by CRLF');
      if (cr - pos > MAX_LINE_BYTES) throw new RespProtocolError(`header line longer than ${MAX_LINE_BYTES} bytes`);
      this.replyBytes += cr + 2 - pos;
      if (this.skip === undefined && this.replyBytes > this.limits.maxReplyBytes) this.startSkip(`more than ${this.limits.maxReplyBytes} bytes (redis.maxReplyBytes)`);
      if (this.skip !== undefined) {
        // Skipping: count values, keep nothing.
        const skip = this.skip;
        skip.remaining--;
        pos = cr + 2;
        if (type === 36) {
          const len = parseInteger(buf, lineStart + 1, cr);
          if (len >= 0) {
            const need = len + 2;
            if (end - pos < need) {
              this.discard = need - (end - pos);
              this.buf = EMPTY;
              this.pos = 0;
              return;
            }
            pos += need;
          }
        } else if (type === 42) {
          const n = parseInteger(buf, lineStart + 1, cr);
          if (n > 0) skip.remaining += n;
        } else if (type !== 43 && type !== 45 && type !== 58) throw new RespProtocolError(`unexpected RESP2 type byte 0x${type.toString(16)}`);
        this.pos = pos;
        if (this.skipDone()) return;
        continue;
      }
      let value: RespValue;
      switch (type) {
        case 36: { // $ bulk string
          const len = parseInteger(buf, pos + 1, cr);
          const start = cr + 2;
          if (len < 0) {
            value = null;
            pos = start;
            break;
          }
          if (len > this.limits.maxBulkBytes || this.replyBytes + len + 2 > this.limits.maxReplyBytes) {
            this.startSkip(len > this.limits.maxBulkBytes ? `a bulk string of ${len} bytes (redis.maxBulkBytes is ${this.limits.maxBulkBytes})` : `more than ${this.limits.maxReplyBytes} bytes (redis.maxReplyBytes)`);
            continue; // the same header again, now skipping
          }
          this.replyBytes += len + 2;
          if (start + len + 2 > end) {
            // Unfinished bulk string: collect chunks until it is whole.
            this.bulkLen = len;
            const rest = this.transient ? Buffer.from(buf.subarray(start)) : buf.subarray(start);
            this.bulkChunks = [rest];
            this.bulkHave = rest.length;
            this.buf = EMPTY;
            this.pos = 0;
            return;
          }
          if (buf[start + len] !== CR || buf[start + len + 1] !== LF) throw new RespProtocolError('bulk string not terminated by CRLF');
          // Short strings repeat (field names, group names, ids): the same bytes give the same string object.
          value = len <= MAX_INTERNED_BYTES ? internBytes(buf, start, start + len, bulkValue) : bulkValue(buf, start, start + len);
          pos = start + len + 2;
          break;
        }
        case 58: // : integer
          value = parseInteger(buf, pos + 1, cr);
          pos = cr + 2;
          break;
        case 42: { // * array
          const n = parseInteger(buf, pos + 1, cr);
          if (n > 0 && this.replyElements + n > this.limits.maxReplyElements) {
            this.startSkip(`more than ${this.limits.maxReplyElements} array elements (redis.maxReplyElements)`);
            continue; // the same header again, now skipping
          }
          pos = cr + 2;
          if (n < 0) {
            value = null;
            break;
          }
          if (n === 0) {
            value = [];
            break;
          }
          this.replyElements += n;
          this.openArray(n);
          this.pos = pos;
          continue;
        }
        case 43: // + simple string
          value = buf.toString('utf8', pos + 1, cr);
          pos = cr + 2;
          break;
        case 45: // - error
          value = new RespReplyError(buf.toString('utf8', pos + 1, cr));
          pos = cr + 2;
          break;
        default:
          throw new RespProtocolError(`unexpected RESP2 type byte 0x${type.toString(16)}`);
      }
      this.pos = pos;
      if (this.deliver(value)) return;
    }
    this.pos = pos;
  }
}

/** Parses the decimal integer in `buf[start, end)` (an optional `-`, then digits). */
function parseInteger(buf: Buffer, start: number, end: number): number {
  let i = start;
  let neg = false;
  if (buf[i] === 45) {
    neg = true;
    i++;
  }
  if (i >= end) throw new RespProtocolError('empty integer');
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) throw new RespProtocolError('malformed integer');
    n = n * 10 + d;
  }
  return neg ? -n : n;
}
