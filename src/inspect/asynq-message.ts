/**
 * Decoding asynq's task message: protobuf `TaskMessage`
 * (hibiken/asynq `internal/proto/asynq.proto`): type 1 (string), payload 2
 * (bytes), id 3, queue 4 (strings), retry 5, retried 6 (int32), error_msg 7
 * (string), timeout 8, deadline 9 (int64), unique_key 10 (string),
 * last_failed_at 11 (int64, unix s), retention 12, completed_at 13 (int64),
 * group_key 14 (string).
 *
 * Why a tolerant decoder: the scrape's RESP reader hands bulk strings over as
 * UTF-8 text, which turns every byte that is not part of valid UTF-8 (most
 * varint bytes above 127) into U+FFFD. Re-encoded, the structure survives
 * mostly: tags (all < 0x80) and the last byte of each varint are intact, and
 * so is text content. So: decode exactly when the bytes allow it; where a
 * varint holds U+FFFD its value is unknown (ints become undefined), and a
 * damaged length is found by trying the end positions from which the rest of
 * the message parses cleanly with ascending field numbers (Go's marshaller
 * writes fields in number order).
 */

/** What the inspector uses of a TaskMessage. */
export interface AsynqMessage {
  type?: string;
  payload?: string;
  id?: string;
  queue?: string;
  retry?: number;
  retried?: number;
  errorMsg?: string;
  /** unix seconds */
  lastFailedAt?: number;
  /** true when some field could not be read exactly */
  damaged: boolean;
}

const WIRE: Record<number, 0 | 2> = { 1: 2, 2: 2, 3: 2, 4: 2, 5: 0, 6: 0, 7: 2, 8: 0, 9: 0, 10: 2, 11: 0, 12: 0, 13: 0, 14: 2 };
const FFFD = [0xef, 0xbf, 0xbd];

interface Varint {
  value: number | undefined;
  end: number;
  /** the 7-bit groups above the damaged low part, when damaged (for length hints) */
  damaged: boolean;
}

function readVarint(b: Buffer, pos: number): Varint | undefined {
  let value = 0;
  let mul = 1;
  let damaged = false;
  let i = pos;
  for (let n = 0; n < 40 && i < b.length; n++, i++) {
    const byte = b[i]!;
    if (byte === FFFD[0] && b[i + 1] === FFFD[1] && b[i + 2] === FFFD[2]) {
      damaged = true;
      i += 2;
      continue;
    }
    value += (byte & 0x7f) * mul;
    mul *= 128;
    if (byte < 0x80) return { value: damaged ? undefined : value, end: i + 1, damaged };
  }
  return undefined;
}

type Fields = Map<number, Buffer | number | undefined>;


/** A parse of the rest of a message, and how plausible it is (clean text fields score higher). */
interface Parse {
  fields: Fields;
  score: number;
}

const TEXT_FIELDS = new Set([1, 3, 4, 7, 10, 14]);
// eslint-disable-next-line no-control-regex
const UNCLEAN = /[\u0000-\u001f\ufffd]/;

/** +1 for a text field that reads as clean text, -2 for one that does not (a wrong cut shows as control bytes). */
function fieldScore(field: number, content: Buffer): number {
  if (!TEXT_FIELDS.has(field)) return 0;
  return UNCLEAN.test(content.toString('utf8')) ? -2 : 1;
}

/** Parses `b[pos..]` to the end; field numbers must rise above `after`. The most plausible parse, or undefined. */
function parseFrom(b: Buffer, pos: number, after: number, budget: { n: number }): Parse | undefined {
  if (pos === b.length) return { fields: new Map(), score: 0 };
  if (--budget.n < 0) return undefined;
  const tag = b[pos]!;
  const field = tag >> 3;
  const wire = tag & 7;
  if (tag >= 0x80 || WIRE[field] === undefined || WIRE[field] !== wire || field <= after) return undefined;
  if (wire === 0) {
    const v = readVarint(b, pos + 1);
    if (!v) return undefined;
    const rest = parseFrom(b, v.end, field, budget);
    if (!rest) return undefined;
    rest.fields.set(field, v.value);
    return { fields: rest.fields, score: rest.score - (v.value === undefined ? 1 : 0) };
  }
  const len = readVarint(b, pos + 1);
  if (!len) return undefined;
  const withContent = (end: number, rest: Parse, damaged: boolean): Parse => {
    const content = b.subarray(len.end, end);
    rest.fields.set(field, content);
    if (damaged) rest.fields.set(-1, 1);
    return { fields: rest.fields, score: rest.score + fieldScore(field, content) };
  };
  if (len.value !== undefined) {
    const end = len.end + len.value;
    if (end <= b.length) {
      const rest = parseFrom(b, end, field, budget);
      if (rest) return withContent(end, rest, false);
    }
  }
  // Damaged length (or content whose text changed size): the most plausible end from which the rest parses.
  // Re-encoding only grows content (an invalid byte becomes 3), and a damaged length had 2+ bytes, so it was
  // >= 128 and at least 128 × its intact last byte; the 2-byte range that last byte implies is tried first,
  // and the first range with a parse wins.
  const hi = b[len.end - 1]! & 0x7f;
  const minLen = len.value !== undefined ? len.value : Math.max(128, hi * 128);
  const ranges: [number, number][] = len.value === undefined ? [[Math.max(minLen, hi * 128), hi * 128 + 127], [minLen, b.length - len.end]] : [[minLen, b.length - len.end]];
  const tried = new Set<number>();
  for (const [lo, top] of ranges) {
    let best: Parse | undefined;
    for (let l = lo; l <= top && len.end + l <= b.length; l++) {
      const end = len.end + l;
      if (tried.has(end)) continue;
      tried.add(end);
      if (end < b.length) {
        const t = b[end]!;
        const f = t >> 3;
        if (t >= 0x80 || WIRE[f] !== (t & 7) || f <= field) continue;
      }
      const rest = parseFrom(b, end, field, budget);
      if (rest) {
        const p = withContent(end, rest, true);
        if (!best || p.score > best.score) best = p;
      }
      if (budget.n < 0) break;
    }
    if (best) return best;
  }
  return undefined;
}

/**
 * Decodes a TaskMessage from the string Redis returned.
 * @returns the fields read, or undefined when the bytes are no TaskMessage at all.
 */
export function decodeAsynqMessage(text: string): AsynqMessage | undefined {
  const b = Buffer.from(text, 'utf8');
  const parsed = parseFrom(b, 0, 0, { n: 5000 });
  if (!parsed) return undefined;
  const fields = parsed.fields;
  const s = (f: number): string | undefined => {
    const v = fields.get(f);
    return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
  };
  const n = (f: number): number | undefined => {
    const v = fields.get(f);
    return typeof v === 'number' ? v : undefined;
  };
  const damaged = fields.has(-1) || [5, 6, 8, 9, 11, 12, 13].some((f) => fields.has(f) && fields.get(f) === undefined);
  const msg: AsynqMessage = { damaged };
  const assign = <K extends keyof AsynqMessage>(k: K, v: AsynqMessage[K] | undefined): void => {
    if (v !== undefined) msg[k] = v;
  };
  assign('type', s(1));
  assign('payload', s(2));
  assign('id', s(3));
  assign('queue', s(4));
  assign('retry', n(5));
  assign('retried', n(6));
  assign('errorMsg', s(7));
  assign('lastFailedAt', n(11));
  return msg;
}
