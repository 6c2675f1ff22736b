/**
 * Stream task inspector: the team's Redis Stream + consumer group layout
 * (shared/spec/frameworks.md; keys: `collect/queues/stream.ts`).
 *
 * | state | read |
 * |---|---|
 * | waiting (per group) | XRANGE key <after last-delivered-id> + COUNT N: entries the group was not given yet |
 * | active (per group) | XPENDING key group - + N (extended form: id, consumer, idle ms, delivery count) |
 * | stuck (per group) | XPENDING key group IDLE <latencyThreshold ms> - + N (Redis ≥ 6.2): delivered and not acknowledged for longer than the queue's latency threshold |
 * | retry / dead | XRANGE of the `retry` / `dead` streams - + COUNT N, XLEN |
 *
 * Groups are known from XINFO GROUPS (first batch) unless the queue names
 * them (`groups:`), in which case XPENDING is in the first batch too and
 * the PEL entries' fields come with the second (XRANGE id id COUNT 1 each).
 * With groups from XINFO the PEL entries are listed without fields (that
 * would be a third batch); a lookup by id shows them. At most
 * {@link MAX_GROUPS} groups are read. Task fields: an entry's own fields
 * (`task_id`, `type`, `attempt`, `error`, `dead_at`…, see `task.ts`); the
 * enqueue time is the entry id's milliseconds unless a `created_at` field says otherwise.
 */
import { array, int, nextStreamId } from '../collect/replies.js';
import type { Command, Reply } from '../redis/command.js';
import { parseGroups, type StreamQueue } from '../collect/queues/stream.js';
import { streamIdMs } from '../collect/replies.js';
import { each, streamEntries } from './reads.js';
import { bodyFacts, makeTask, str, type TaskFacts } from './task.js';
import type { InspectRequest, InspectSink, InspectStep, Inspector, TaskState } from './types.js';

/** Groups read per view. */
export const MAX_GROUPS = 10;

/** A valid stream entry id (`ms-seq` or `ms`). */
export function isStreamId(id: string): boolean {
  return /^\d{1,20}(-\d{1,20})?$/.test(id);
}

/** Facts of one stream entry. */
export function entryFacts(id: string, fields: Record<string, string> | undefined, state: TaskState, extra: Partial<TaskFacts> = {}): TaskFacts {
  const body = fields ? bodyFacts(fields) : {};
  return {
    id,
    state,
    ...body,
    enqueuedAtMs: body.enqueuedAtMs ?? streamIdMs(id),
    payload: fields ? JSON.stringify(fields) : null,
    ...extra,
  };
}

interface Pending {
  id: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

/** Reads an extended XPENDING reply. */
export function parsePending(reply: Reply | undefined, what: string): Pending[] {
  return array(reply, what).map((e) => {
    const a = Array.isArray(e) ? e : [];
    return { id: str(a[0]) ?? '', consumer: str(a[1]) ?? '', idleMs: Number(a[2]), deliveries: Number(a[3]) };
  });
}

/** XPENDING commands of one group: active, then stuck. */
function pendingCommands(q: StreamQueue, group: string, req: InspectRequest): { commands: Command[]; states: TaskState[] } {
  const commands: Command[] = [];
  const states: TaskState[] = [];
  if (req.states.has('active')) {
    commands.push(['XPENDING', q.key, group, '-', '+', req.limit]);
    states.push('active');
  }
  if (req.states.has('stuck')) {
    commands.push(['XPENDING', q.key, group, 'IDLE', Math.max(1, Math.round(q.latencyThreshold)), '-', '+', req.limit]);
    states.push('stuck');
  }
  return { commands, states };
}

/** The PEL step of one group; `withFields` asks for a dependent step reading each entry's fields. */
function pelStep(q: StreamQueue, group: string, req: InspectRequest, withFields: boolean): InspectStep {
  const { commands, states } = pendingCommands(q, group, req);
  return {
    commands,
    read(r, sink) {
      const found: { state: TaskState; p: Pending }[] = [];
      states.forEach((state, i) =>
        each(sink, [() => parsePending(r[i], `XPENDING ${q.key} ${group}`).forEach((p) => found.push({ state, p }))]),
      );
      const facts = (state: TaskState, p: Pending, fields?: Record<string, string>): TaskFacts =>
        entryFacts(p.id, fields, state, { consumer: p.consumer, group, idleMs: p.idleMs, deliveries: p.deliveries });
      if (!withFields || found.length === 0) {
        for (const f of found) sink.task(makeTask(facts(f.state, f.p), req));
        return;
      }
      return {
        commands: found.map(({ p }): Command => ['XRANGE', q.key, p.id, p.id, 'COUNT', 1]),
        read(r2, sink2) {
          found.forEach((f, i) => {
            let fields: Record<string, string> | undefined;
            try {
              fields = streamEntries(r2[i], `XRANGE ${q.key}`)[0]?.fields;
            } catch (err) {
              sink2.problem((err as Error).message);
            }
            sink2.task(makeTask(facts(f.state, f.p, fields), req));
          });
        },
      };
    },
  };
}

function sideStreams(q: StreamQueue, req: InspectRequest): InspectStep[] {
  const out: InspectStep[] = [];
  for (const [state, key] of [['retry', q.retry], ['dead', q.dead]] as const) {
    if (!key || !req.states.has(state)) continue;
    out.push({
      commands: [['XLEN', key], ['XRANGE', key, '-', '+', 'COUNT', req.limit]],
      read(r, sink) {
        each(sink, [
          () => sink.total(state, int(r[0], `XLEN ${key}`)),
          () => streamEntries(r[1], `XRANGE ${key}`).forEach((e) => sink.task(makeTask(entryFacts(e.id, e.fields, state), req))),
        ]);
      },
    });
  }
  return out;
}

export const streamInspector: Inspector<StreamQueue> = {
  framework: 'stream',
  states: ['waiting', 'active', 'stuck', 'retry', 'dead'],
  statesOf: (q) => ['waiting', 'active', 'stuck', ...(q.retry ? (['retry'] as const) : []), ...(q.dead ? (['dead'] as const) : [])],
  list(q, req) {
    const steps: InspectStep[] = [];
    const named = q.groups.slice(0, MAX_GROUPS);
    for (const g of named) if (req.states.has('active') || req.states.has('stuck')) steps.push(pelStep(q, g, req, true));
    if (req.states.has('waiting') || named.length === 0) {
      steps.push({
        commands: [['XINFO', 'GROUPS', q.key]],
        read(r, sink) {
          if (r[0]?.[0] && /no such key/i.test(r[0][0].message)) return; // not created yet: nothing to show
          let groups = parseGroups(array(r[0], `XINFO GROUPS ${q.key}`), q.key);
          if (named.length > 0) groups = groups.filter((g) => named.includes(g.name));
          groups = groups.slice(0, MAX_GROUPS);
          const follow: InspectStep[] = [];
          let active = 0;
          let waiting = 0;
          let waitingKnown = true;
          for (const g of groups) {
            active += g.pending;
            if (g.lag === undefined) waitingKnown = false;
            else waiting += g.lag;
            if (named.length === 0 && (req.states.has('active') || req.states.has('stuck'))) follow.push(pelStep(q, g.name, req, false));
            if (req.states.has('waiting') && g.lag !== 0) {
              follow.push({
                commands: [['XRANGE', q.key, nextStreamId(g.lastDeliveredId), '+', 'COUNT', req.limit]],
                read(r2, sink2) {
                  streamEntries(r2[0], `XRANGE ${q.key}`).forEach((e) => sink2.task(makeTask(entryFacts(e.id, e.fields, 'waiting', { group: g.name }), req)));
                },
              });
            }
          }
          sink.total('active', active);
          if (waitingKnown) sink.total('waiting', waiting);
          if (groups.length > 1) sink.note('waiting', 'perGroup');
          return follow;
        },
      });
    }
    steps.push(...sideStreams(q, req));
    return steps;
  },
  lookup(q, id, req) {
    const keys: [TaskState, string][] = [['waiting', q.key]];
    if (q.retry) keys.push(['retry', q.retry]);
    if (q.dead) keys.push(['dead', q.dead]);
    if (!isStreamId(id)) return [];
    return [
      {
        commands: [['XINFO', 'GROUPS', q.key], ...keys.map(([, key]): Command => ['XRANGE', key, id, id, 'COUNT', 1])],
        read(r, sink: InspectSink) {
          const found = keys.map(([state, key], i) => ({ state, e: streamEntries(r[1 + i], `XRANGE ${key}`)[0] })).find((f) => f.e !== undefined);
          if (!found?.e) return;
          const e = found.e;
          if (found.state !== 'waiting') {
            sink.task(makeTask(entryFacts(e.id, e.fields, found.state), req));
            return;
          }
          let groups = r[0]?.[0] ? [] : parseGroups(array(r[0], `XINFO GROUPS ${q.key}`), q.key);
          if (q.groups.length > 0) groups = groups.filter((g) => q.groups.includes(g.name));
          groups = groups.slice(0, MAX_GROUPS);
          if (groups.length === 0) {
            sink.task(makeTask(entryFacts(e.id, e.fields, 'waiting'), req));
            return;
          }
          return {
            commands: groups.map((g): Command => ['XPENDING', q.key, g.name, id, id, 1]),
            read(r2, sink2) {
              groups.forEach((g, i) => {
                const p = parsePending(r2[i], `XPENDING ${q.key} ${g.name}`)[0];
                if (p) {
                  const state: TaskState = p.idleMs > q.latencyThreshold ? 'stuck' : 'active';
                  sink2.task(makeTask(entryFacts(e.id, e.fields, state, { consumer: p.consumer, group: g.name, idleMs: p.idleMs, deliveries: p.deliveries }), req));
                } else {
                  // Not pending: either not delivered to this group yet, or delivered and acknowledged.
                  const delivered = compareIds(e.id, g.lastDeliveredId) <= 0;
                  sink2.task(makeTask(entryFacts(e.id, e.fields, delivered ? 'completed' : 'waiting', { group: g.name }), req));
                }
              });
            },
          };
        },
      },
    ];
  },
};

/** Compares stream ids numerically. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}
