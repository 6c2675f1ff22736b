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
import type { Command } from './command.js';

/**
 * One decoded RESP2 reply. Bulk and simple strings are UTF-8 strings, integers
 * JS numbers (precision is lost above 2^53, as with ioredis), nil `null`, an
 * error reply a {@link RespReplyError}, arrays nested arrays (what ioredis
 * returns from a pipeline, before its per-command reply transformers).
 */
export type RespValue = string | number | null | RespReplyError | RespValue[];

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

function digits(n: number): number {
  // n >= 0, an integer
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  return String(n).length;
}

/** Writes a non-negative integer in decimal at `off`; returns the new offset. */
function writeUint(buf: Buffer, off: number, n: number): number {
  const d = digits(n);
  let end = off + d;
  let v = n;
  for (let i = end - 1; i >= off; i--) {
    buf[i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return end;
}

function argText(arg: string | number): string {
  if (typeof arg === 'string') return arg;
  if (!Number.isFinite(arg)) throw new TypeError(`RESP argument ${arg} is not a finite number`);
  return String(arg);
}

/** Reused between calls: byte length of every argument of the batch being encoded. */
let lengths = new Int32Array(1024);

/**
 * Encodes commands as RESP2 arrays of bulk strings, the whole batch in one
 * Buffer (lengths are computed first, then everything is written in place).
 * Numbers are sent as their decimal strings (`String(n)`), strings as UTF-8.
 * @throws TypeError for a non-finite number argument (NaN, Infinity).
 */
export function encodeCommands(commands: readonly Command[]): Buffer {
  let nargs = 0;
  for (const c of commands) nargs += c.length;
  if (lengths.length < nargs) lengths = new Int32Array(Math.max(nargs, lengths.length * 2));
  const lens = lengths;
  let total = 0;
  let k = 0;
  for (const c of commands) {
    total += 3 + digits(c.length); // *n\r\n
    for (let i = 0; i < c.length; i++) {
      const s = argText(c[i]!);
      const len = Buffer.byteLength(s, 'utf8');
      lens[k++] = len;
      total += 5 + digits(len) + len; // $len\r\n…\r\n
    }
  }
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  k = 0;
  for (const c of commands) {
    buf[off++] = 42; // *
    off = writeUint(buf, off, c.length);
    buf[off++] = CR;
    buf[off++] = LF;
    for (let i = 0; i < c.length; i++) {
      const s = argText(c[i]!);
      const len = lens[k++]!;
      buf[off++] = 36; // $
      off = writeUint(buf, off, len);
      buf[off++] = CR;
      buf[off++] = LF;
      if (len === s.length && len <= 64) {
        // ASCII (byte length = char count): a plain copy beats buf.write's call overhead for short keys.
        for (let j = 0; j < len; j++) buf[off + j] = s.charCodeAt(j);
        off += len;
      } else {
        off += buf.write(s, off, len, 'utf8');
      }
      buf[off++] = CR;
      buf[off++] = LF;
    }
  }
  return buf;
}

/** An array being filled: the elements read so far. */
interface Frame {
  readonly items: RespValue[];
  filled: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Streaming RESP2 reply parser. {@link push} chunks as the socket delivers
 * them; every complete top-level reply is handed to `onReply` in order.
 *
 * Replies may be split at any byte (inside a length header, inside CRLF, in
 * the middle of a bulk string). The parser keeps its place: arrays under
 * construction stay on a stack, so a partial reply is never parsed twice; an
 * unfinished bulk string keeps its chunks in a list and is joined once,
 * when complete. Only an unfinished header line (a few bytes) is ever copied
 * again, so parsing is linear in the bytes received however they are cut.
 */
export class RespParser {
  private buf: Buffer = EMPTY;
  private pos = 0;
  private readonly stack: Frame[] = [];
  /** Bytes the pending bulk string still needs incl. its CRLF; -1 when none is pending. */
  private bulkLen = -1;
  private bulkChunks: Buffer[] = [];
  private bulkHave = 0;

  /** @param onReply receives each complete top-level reply. */
  constructor(private readonly onReply: (reply: RespValue) => void) {}

  /** Forgets any partial reply (after the connection was dropped). */
  reset(): void {
    this.buf = EMPTY;
    this.pos = 0;
    this.stack.length = 0;
    this.bulkLen = -1;
    this.bulkChunks = [];
    this.bulkHave = 0;
  }

  /**
   * Feeds bytes; calls `onReply` for every reply they complete.
   * @throws RespProtocolError when the stream is not RESP2 (the parser must then be reset).
   */
  push(chunk: Buffer): void {
    if (this.bulkLen >= 0) {
      this.bulkChunks.push(chunk);
      this.bulkHave += chunk.length;
      if (this.bulkHave < this.bulkLen + 2) return;
      const joined = Buffer.concat(this.bulkChunks, this.bulkHave);
      const len = this.bulkLen;
      this.bulkChunks = [];
      this.bulkHave = 0;
      this.bulkLen = -1;
      if (joined[len] !== CR || joined[len + 1] !== LF) throw new RespProtocolError('bulk string not terminated by CRLF');
      this.buf = joined;
      this.pos = len + 2;
      if (this.deliver(joined.toString('utf8', 0, len))) return;
    } else if (this.pos < this.buf.length) {
      // An unfinished header line: short, so copying it is cheap.
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
   * @returns true if `onReply` detached this parser's buffer (via reset) and parsing must stop.
   */
  private deliver(value: RespValue): boolean {
    let v = value;
    const stack = this.stack;
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        const buf = this.buf;
        this.onReply(v);
        return this.buf !== buf;
      }
      top.items[top.filled++] = v;
      if (top.filled < top.items.length) return false;
      stack.pop();
      v = top.items;
    }
  }

  private parse(): void {
    const buf = this.buf;
    const end = buf.length;
    let pos = this.pos;
    while (pos < end) {
      const type = buf[pos]!;
      const cr = buf.indexOf(CR, pos + 1);
      if (cr < 0 || cr + 1 >= end) break; // header line not complete yet
      if (buf[cr + 1] !== LF) throw new RespProtocolError('line not terminated by CRLF');
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
          if (start + len + 2 > end) {
            // Unfinished bulk string: collect chunks until it is whole.
            this.bulkLen = len;
            const rest = buf.subarray(start);
            this.bulkChunks = [rest];
            this.bulkHave = rest.length;
            this.buf = EMPTY;
            this.pos = 0;
            return;
          }
          if (buf[start + len] !== CR || buf[start + len + 1] !== LF) throw new RespProtocolError('bulk string not terminated by CRLF');
          value = buf.toString('utf8', start, start + len);
          pos = start + len + 2;
          break;
        }
        case 58: // : integer
          value = parseInteger(buf, pos + 1, cr);
          pos = cr + 2;
          break;
        case 42: { // * array
          const n = parseInteger(buf, pos + 1, cr);
          pos = cr + 2;
          if (n < 0) {
            value = null;
            break;
          }
          if (n === 0) {
            value = [];
            break;
          }
          this.stack.push({ items: new Array<RespValue>(n), filled: 0 });
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
