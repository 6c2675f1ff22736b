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

/** Parses `b[pos..]` to the end; field numbers must rise above `after`. Undefined when it does not parse. */
function parseFrom(b: Buffer, pos: number, after: number, fields: Fields, budget: { n: number }): boolean {
  if (pos === b.length) return true;
  if (--budget.n < 0) return false;
  const tag = b[pos]!;
  const field = tag >> 3;
  const wire = tag & 7;
  if (tag >= 0x80 || WIRE[field] === undefined || WIRE[field] !== wire || field <= after) return false;
  if (wire === 0) {
    const v = readVarint(b, pos + 1);
    if (!v) return false;
    fields.set(field, v.value);
    return parseFrom(b, v.end, field, fields, budget);
  }
  const len = readVarint(b, pos + 1);
  if (!len) return false;
  if (len.value !== undefined) {
    const end = len.end + len.value;
    if (end <= b.length) {
      const sub = new Map(fields);
      if (parseFrom(b, end, field, sub, budget)) {
        for (const [k, v] of sub) fields.set(k, v);
        fields.set(field, b.subarray(len.end, end));
        return true;
      }
    }
  }
  // Damaged length (or content whose text changed size): the first end from which the rest parses.
  for (let end = len.end; end <= b.length; end++) {
    if (end < b.length) {
      const t = b[end]!;
      const f = t >> 3;
      if (t >= 0x80 || WIRE[f] !== (t & 7) || f <= field) continue;
    }
    const sub = new Map(fields);
    if (parseFrom(b, end, field, sub, budget)) {
      for (const [k, v] of sub) fields.set(k, v);
      fields.set(field, b.subarray(len.end, end));
      fields.set(-1, 1); // damaged marker
      return true;
    }
    if (budget.n < 0) return false;
  }
  return false;
}

/**
 * Decodes a TaskMessage from the string Redis returned.
 * @returns the fields read, or undefined when the bytes are no TaskMessage at all.
 */
export function decodeAsynqMessage(text: string): AsynqMessage | undefined {
  const b = Buffer.from(text, 'utf8');
  const fields: Fields = new Map();
  if (!parseFrom(b, 0, 0, fields, { n: 5000 })) return undefined;
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
