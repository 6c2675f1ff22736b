/**
 * Reading Redis replies into numbers, defensively. Every helper either returns
 * a value or throws {@link ReplyError} with a message that names the command
 * and key, so the engine can log why a series is missing.
 */
import type { Reply } from '../redis/command.js';
import { ReplyError, type SampleSink } from './types.js';

/** Unwraps a reply; a Redis error reply becomes a ReplyError naming `what`. */
export function value(reply: Reply | undefined, what: string): unknown {
  if (!reply) throw new ReplyError(`${what}: no reply`);
  const [err, val] = reply;
  if (err) {
    const msg = err.message.startsWith('WRONGTYPE') ? 'key holds the wrong type' : err.message;
    throw new ReplyError(`${what}: ${msg}`);
  }
  return val;
}

/** An integer reply (LLEN, SCARD, ZCOUNT, XLEN, HLEN…). */
export function int(reply: Reply | undefined, what: string): number {
  const v = value(reply, what);
  if (typeof v === 'number') return v;
  throw new ReplyError(`${what}: expected an integer reply`);
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
export function stringOrNull(reply: Reply | undefined, what: string): string | null {
  const v = value(reply, what);
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number') return String(v);
  throw new ReplyError(`${what}: expected a string reply`);
}

/** An array reply. */
export function array(reply: Reply | undefined, what: string): unknown[] {
  const v = value(reply, what);
  if (Array.isArray(v)) return v;
  throw new ReplyError(`${what}: expected an array reply`);
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
  const seq = BigInt(id.slice(dash + 1));
  if (seq === 18446744073709551615n) return `${BigInt(ms) + 1n}-0`;
  return `${ms}-${seq + 1n}`;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * Reads a counter kept as a Redis string (GET). A missing key reads as 0, as
 * the frameworks' own tools show it (asynq `CurrentStats`, Sidekiq `Stats#processed`).
 * @throws ReplyError when the value is not a number.
 */
export function counterValue(reply: Reply | undefined, what: string): number {
  return numericString(reply, what) ?? 0;
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
export function attempt<T>(sink: SampleSink, parse: (reply: Reply | undefined, what: string) => T, reply: Reply | undefined, what: string): T | undefined {
  try {
    return parse(reply, what);
  } catch (err) {
    sink.fail((err as Error).message);
    return undefined;
  }
}
