/**
 * Reading Redis replies into numbers, defensively. Every helper either returns
 * a value or throws {@link ReplyError} with a message that names the command
 * and key, so the engine can log why a series is missing.
 *
 * The message is given in up to three parts — `what` (the command, e.g.
 * `LLEN`), the `key` and a `tail` (an argument or field) — and joined only
 * when a reply is unreadable: a scrape reads tens of thousands of replies,
 * and a message string built for each one was garbage on every scrape.
 */
import type { Reply } from '../redis/command.js';
import { ReplyError, type SampleSink } from './types.js';

/** The text a failure names: `what`, then `key` and `tail` when given, space-separated. */
export function commandText(what: string, key?: string, tail?: string): string {
  let text = what;
  if (key !== undefined) text += ` ${key}`;
  if (tail !== undefined) text += ` ${tail}`;
  return text;
}

/** Unwraps a reply; a Redis error reply becomes a ReplyError naming the command ({@link commandText}). */
export function value(reply: Reply | undefined, what: string, key?: string, tail?: string): unknown {
  if (!reply) throw new ReplyError(`${commandText(what, key, tail)}: no reply`);
  const err = reply[0];
  if (err) {
    const msg = err.message.startsWith('WRONGTYPE') ? 'key holds the wrong type' : err.message;
    throw new ReplyError(`${commandText(what, key, tail)}: ${msg}`);
  }
  return reply[1];
}

/** An integer reply (LLEN, SCARD, ZCOUNT, XLEN, HLEN…). */
export function int(reply: Reply | undefined, what: string, key?: string, tail?: string): number {
  const v = value(reply, what, key, tail);
  if (typeof v === 'number') return v;
  throw new ReplyError(`${commandText(what, key, tail)}: expected an integer reply`);
}

/**
 * A string reply that should hold a number (GET of a counter). `null` (missing
 * key) gives `undefined`; anything non-numeric throws.
 */
export function numericString(reply: Reply | undefined, what: string): number | undefined {
  const v = value(reply, what);
  if (v === null || v === undefined) return undefined;
  return parseNumber(v, what);
}

/** Parses a Redis string/Buffer/number as a finite number, or throws. */
export function parseNumber(v: unknown, what: string): number {
  const text = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'number' ? String(v) : undefined;
  if (text === undefined) throw new ReplyError(`${what}: expected a number`);
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n)) throw new ReplyError(`${what}: value ${JSON.stringify(truncate(text))} is not a number`);
  return n;
}

/** A string reply or null. */
export function stringOrNull(reply: Reply | undefined, what: string, key?: string, tail?: string): string | null {
  const v = value(reply, what, key, tail);
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number') return String(v);
  throw new ReplyError(`${commandText(what, key, tail)}: expected a string reply`);
}

/** An array reply. */
export function array(reply: Reply | undefined, what: string, key?: string, tail?: string): unknown[] {
  const v = value(reply, what, key, tail);
  if (Array.isArray(v)) return v;
  throw new ReplyError(`${commandText(what, key, tail)}: expected an array reply`);
}

/**
 * Turns a flat `[field, value, field, value…]` reply (XINFO, HGETALL in RESP2)
 * into a Map. Values are kept as Redis returned them.
 */
export function flatMap(v: unknown, what: string): Map<string, unknown> {
  if (!Array.isArray(v) || v.length % 2 !== 0) throw new ReplyError(`${what}: expected a field/value list`);
  const out = new Map<string, unknown>();
  for (let i = 0; i < v.length; i += 2) out.set(String(v[i]), v[i + 1]);
  return out;
}

/**
 * Checks a flat `[field, value, field, value…]` reply (XINFO in RESP2) and
 * returns it as it is, to be read with {@link field}: no Map per reply on
 * the scrape path (a 10,000-queue scrape reads thousands of them).
 * @throws ReplyError naming the command ({@link commandText}) when `v` is not an even-length array
 */
export function fieldList(v: unknown, what: string, key?: string, tail?: string): readonly unknown[] {
  if (!Array.isArray(v) || v.length % 2 !== 0) throw new ReplyError(`${commandText(what, key, tail)}: expected a field/value list`);
  return v;
}

/** The value of field `name` in a {@link fieldList} (its first occurrence), or undefined when it has none. */
export function field(list: readonly unknown[], name: string): unknown {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

/**
 * Converts a unix timestamp of unknown unit to milliseconds. Values below 1e11
 * are seconds (1e11 s is the year 5138), below 1e14 milliseconds, below 1e17
 * microseconds, else nanoseconds.
 */
export function toUnixMs(ts: number): number {
  const abs = Math.abs(ts);
  if (abs < 1e11) return ts * 1000;
  if (abs < 1e14) return ts;
  if (abs < 1e17) return ts / 1000;
  return ts / 1e6;
}

/**
 * Parses a timestamp as found in task payloads: unix seconds/ms/µs/ns as a
 * number or numeric string, or an ISO-8601 string (RQ's `enqueued_at`,
 * which has no zone and is UTC).
 * @returns unix milliseconds, or undefined when unparsable.
 */
export function parseTimestampMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? toUnixMs(v) : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const text = v.trim();
  const n = Number(text);
  if (Number.isFinite(n)) return n > 0 ? toUnixMs(n) : undefined;
  // ISO without zone (RQ writes utcformat: 2024-05-01T10:00:00.123456Z or without Z) is UTC.
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Parses task JSON that should be an object (a task body, a Sidekiq job).
 * @returns the object, or undefined for invalid JSON or a non-object.
 */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

/** Millisecond part of a stream entry id `ms-seq`. */
export function streamIdMs(id: string): number | undefined {
  const dash = id.indexOf('-');
  const ms = Number(dash < 0 ? id : id.slice(0, dash));
  return Number.isFinite(ms) ? ms : undefined;
}

/** The smallest stream id strictly greater than `id` (for an exclusive XRANGE start on Redis < 6.2). */
export function nextStreamId(id: string): string {
  const dash = id.indexOf('-');
  if (dash < 0) return `${id}-1`;
  const ms = id.slice(0, dash);
  const seqText = id.slice(dash + 1);
  // Exact as a double below 2^53 (15 digits at most): BigInt only for the rare longer sequence numbers.
  if (seqText.length <= 15 && /^\d+$/.test(seqText)) return `${ms}-${Number(seqText) + 1}`;
  const seq = BigInt(seqText);
  if (seq === 18446744073709551615n) return `${BigInt(ms) + 1n}-0`;
  return `${ms}-${seq + 1n}`;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// A counter as INCR / INCRBY / INCRBYFLOAT write it: a non-negative decimal, optionally with a fraction or exponent.
const COUNTER_TEXT = /^\d+(\.\d+)?([eE]\+?\d+)?$/;

/**
 * Reads a counter kept as a Redis string (GET). A missing key reads as 0, as
 * the frameworks' own tools show it (asynq `CurrentStats`, Sidekiq `Stats#processed`).
 * Only a non-negative decimal is a counter: `-5` (a counter never goes down;
 * OpenMetrics rejects the whole page for it), `0x1F`, `1e400` (Infinity) or
 * ` 12abc` are refused, where `Number()` would have read some of them.
 * @throws ReplyError naming the key and the (truncated) value otherwise.
 */
export function counterValue(reply: Reply | undefined, what: string): number {
  const v = value(reply, what);
  if (v === null || v === undefined) return 0;
  const text = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
  if (text === undefined) throw new ReplyError(`${what}: expected a counter`);
  if (!COUNTER_TEXT.test(text)) {
    const why = text === '' || Number.isNaN(Number(text)) ? 'is not a number' : 'is not a non-negative decimal counter';
    throw new ReplyError(`${what}: value ${JSON.stringify(truncate(text))} ${why}`);
  }
  const n = Number(text);
  if (!Number.isFinite(n)) throw new ReplyError(`${what}: value ${JSON.stringify(truncate(text))} is too large for a counter`);
  return n;
}

/** An integer reply read as a flag: > 0 is 1 (EXISTS, HEXISTS, SISMEMBER). */
export function flag(reply: Reply | undefined, what: string): number {
  return int(reply, what) > 0 ? 1 : 0;
}

/**
 * Reads one reply with `parse`; a reply that cannot be read is reported to
 * `sink` and gives `undefined`, so one unreadable key (wrong type, not a
 * number) does not hide the others of the same step.
 */
export function attempt<T>(
  sink: SampleSink,
  parse: (reply: Reply | undefined, what: string, key?: string, tail?: string) => T,
  reply: Reply | undefined,
  what: string,
  key?: string,
  tail?: string,
): T | undefined {
  try {
    return parse(reply, what, key, tail);
  } catch (err) {
    sink.fail((err as Error).message);
    return undefined;
  }
}
