/**
 * Reply readers shared by the inspectors (on top of `collect/replies.ts`).
 */
import { array, int, value } from '../collect/replies.js';
import type { Reply } from '../redis/command.js';
import type { InspectSink, TaskState } from './types.js';
import { str } from './task.js';

/** Elements of an LRANGE `-N -1` reply, oldest first (the list's oldest end is its tail). */
export function oldestFirstFromTail(reply: Reply | undefined, what: string): string[] {
  return array(reply, what).map((v) => str(v) ?? '').reverse();
}

/** Elements of an LRANGE `0 N-1` reply (oldest at the head). */
export function strings(reply: Reply | undefined, what: string): string[] {
  return array(reply, what).map((v) => str(v) ?? '');
}

/** `[member, score]` pairs of a ZRANGE … WITHSCORES reply (RESP2 flat list). */
export function withScores(reply: Reply | undefined, what: string): { member: string; score: number }[] {
  const flat = array(reply, what);
  const out: { member: string; score: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: str(flat[i]) ?? '', score: Number(flat[i + 1]) });
  return out;
}

/** Reads an integer reply into `sink.total(state)`. */
export function totalInto(sink: InspectSink, state: TaskState, reply: Reply | undefined, what: string): void {
  sink.total(state, int(reply, what));
}

/** A HMGET reply as a record of `fields`, `undefined` when every field is nil (the hash is gone). */
export function hmget(reply: Reply | undefined, fields: readonly string[], what: string): Record<string, string | null> | undefined {
  const values = array(reply, what);
  const out: Record<string, string | null> = Object.create(null) as Record<string, string | null>;
  let any = false;
  fields.forEach((f, i) => {
    const v = str(values[i]);
    out[f] = v;
    if (v !== null) any = true;
  });
  return any ? out : undefined;
}

/** Stream entries of an XRANGE / XREVRANGE reply: id and fields (deleted entries have nil fields). */
export function streamEntries(reply: Reply | undefined, what: string): { id: string; fields: Record<string, string> }[] {
  const raw = array(reply, what);
  const out: { id: string; fields: Record<string, string> }[] = [];
  for (const e of raw) {
    if (!Array.isArray(e)) continue;
    const id = str(e[0]);
    if (id === null) continue;
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    const flat = Array.isArray(e[1]) ? (e[1] as unknown[]) : [];
    for (let i = 0; i + 1 < flat.length; i += 2) fields[str(flat[i]) ?? ''] = str(flat[i + 1]) ?? '';
    out.push({ id, fields });
  }
  return out;
}

/** A ZSCORE reply: the score or undefined (not a member). */
export function score(reply: Reply | undefined, what: string): number | undefined {
  const v = value(reply, what);
  if (v === null || v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Runs each reader on its own so one unreadable reply does not hide the others. */
export function each(sink: InspectSink, readers: readonly (() => void)[]): void {
  for (const r of readers) {
    try {
      r();
    } catch (err) {
      sink.problem((err as Error).message);
    }
  }
}
