/**
 * A Redis STREAM consumed by consumer groups (shared/spec/frameworks.md,
 * "Stream + consumer group"). Each group is its own consumer side.
 *
 * First batch: XINFO STREAM (length, entries-added, last-generated-id, groups),
 * XINFO GROUPS (per group: consumers, pending, last-delivered-id, lag), and
 * XLEN of the optional retry and dead-letter streams.
 * Second batch, per group: XPENDING summary (smallest pending id), XRANGE of
 * the first entry after last-delivered-id (the oldest undelivered entry) and
 * XINFO CONSUMERS. Field names are those of Redis 7's XINFO replies; Redis < 7
 * lacks `entries-added` and `lag`, and those series are then absent.
 */
import { z } from 'zod';
import { queueCommon, thresholds } from '../../config/fields.js';
import type { Command, Reply } from '../../redis/command.js';
import { array, attempt, commandText, field, fieldList, int, nextStreamId, streamIdMs, value } from '../replies.js';
import { put, series } from '../series.js';
import { ReplyError, type Series, type PlannedCommand, type ReadStep, type SampleSink } from '../types.js';
import { defineFramework, findByPattern } from './framework.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

/** A declared stream queue (`queues:` entry of `type: stream`). */
export const streamQueueSchema = z.strictObject({
  ...queueCommon,
  type: z.literal('stream'),
  groups: z.array(z.string().min(1)).default([]),
  retry: z.string().min(1).optional(),
  dead: z.string().min(1).optional(),
  consumers: z.boolean().default(true),
});
export type StreamQueueConfig = z.output<typeof streamQueueSchema>;

/** A stream queue ready to plan: config with its `name` resolved. */
export type StreamQueue = QueueIdentity & Omit<StreamQueueConfig, 'name'>;

/** One group as XINFO GROUPS reports it. */
export interface GroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastDeliveredId: string;
  /** undefined on Redis < 7 or when Redis reports the lag as unknown (nil) */
  lag: number | undefined;
}

/** A field value that must be a number (message parts as in `commandText`). */
function num(v: unknown, what: string, key?: string, tail?: string): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new ReplyError(`${commandText(what, key, tail)}: not a number`);
  return n;
}

/** Parses an XINFO GROUPS reply (RESP2 flat field lists). */
export function parseGroups(reply: unknown, key: string): GroupInfo[] {
  if (!Array.isArray(reply)) throw new ReplyError(`XINFO GROUPS ${key}: expected an array reply`);
  return reply.map((g) => {
    const m = fieldList(g, 'XINFO GROUPS', key);
    const lag = field(m, 'lag');
    return {
      name: String(field(m, 'name')),
      consumers: num(field(m, 'consumers'), 'XINFO GROUPS', key, 'consumers'),
      pending: num(field(m, 'pending'), 'XINFO GROUPS', key, 'pending'),
      lastDeliveredId: String(field(m, 'last-delivered-id') ?? '0-0'),
      lag: lag === null || lag === undefined ? undefined : num(lag, 'XINFO GROUPS', key, 'lag'),
    };
  });
}

/** True for the error Redis answers XINFO on a missing key. */
function isNoSuchKey(reply: Reply | undefined): boolean {
  return !!reply?.[0] && /no such key/i.test(reply[0].message);
}

/** The series of one consumer group, built the first time the group is seen (groups rarely change). */
interface GroupSeries {
  readonly consumers: Series;
  readonly pending: Series;
  readonly active: Series;
  readonly stuck: Series;
  readonly lag: Series;
  readonly waiting: Series;
  readonly oldestPending: Series;
  readonly age: Series;
  /** Its consumers' series, by consumer name (see `consumerSeries`). */
  readonly consumerCache: Map<string, ConsumerSeries>;
  /** Its follow-up commands that are the same every scrape (only the XRANGE start moves), made once. */
  readonly xpending: Command;
  readonly xpendingIdle: Command;
  readonly xinfoConsumers: Command;
}

/** The series of one consumer of a group. */
interface ConsumerSeries {
  readonly pending: Series;
  readonly idle: Series;
}

/** Groups remembered per stream before the cache starts over (bounds memory for group churn). */
const MAX_CACHED_GROUPS = 256;

/** The dependent reads of one group: only what the first batch says is needed. */
interface GroupReads {
  readonly group: GroupInfo;
  readonly series: GroupSeries;
  /** XPENDING summary (oldest pending entry) */
  readonly pending: boolean;
  /** XRANGE of the first undelivered entry */
  readonly undelivered: boolean;
  /** XINFO CONSUMERS */
  readonly consumers: boolean;
}

export const streamLayout: QueueLayout<StreamQueue> = {
  framework: 'stream',
  steps(q) {
    const key = q.key;
    const labels = { queue: q.name, framework: 'stream' };
    const stream = { stream: key };
    const steps: ReadStep[] = [];
    // Series built once per queue set; a scrape only writes values.
    const lengthSeries = series('queue_stream_length', stream);
    const groupsSeries = series('queue_stream_groups', stream);
    const addedSeries = series('queue_stream_entries_added_total', stream);
    const enqueuedSeries = series('queue_enqueued_total', labels);
    const lastSeries = series('queue_stream_last_entry_timestamp_seconds', stream);
    const groupCache = new Map<string, GroupSeries>();
    const groupSeries = (name: string): GroupSeries => {
      let g = groupCache.get(name);
      if (!g) {
        if (groupCache.size >= MAX_CACHED_GROUPS) groupCache.clear();
        const gl = { ...stream, group: name };
        g = {
          consumers: series('queue_stream_group_consumers', gl),
          pending: series('queue_stream_group_pending', gl),
          active: series('queue_tasks', { ...labels, state: 'active', group: name }),
          stuck: series('queue_tasks', { ...labels, state: 'stuck', group: name }),
          lag: series('queue_stream_group_lag', gl),
          waiting: series('queue_tasks', { ...labels, state: 'waiting', group: name }),
          oldestPending: series('queue_stream_group_oldest_pending_age_seconds', gl),
          age: series('queue_oldest_task_age_seconds', { ...labels, group: name }),
          consumerCache: new Map(),
          xpending: ['XPENDING', key, name],
          // Entries delivered and not acked for longer than the queue's latency threshold: their consumer is gone (Redis >= 6.2).
          xpendingIdle: ['XPENDING', key, name, 'IDLE', q.latencyThreshold, '-', '+', MAX_IDLE_CHECK],
          xinfoConsumers: ['XINFO', 'CONSUMERS', key, name],
        };
        groupCache.set(name, g);
      }
      return g;
    };

    /** Carry: per group, which dependent reads it needs. */
    const info: ReadStep<GroupReads[]> = {
      commands: [
        ['XINFO', 'STREAM', key],
        ['XINFO', 'GROUPS', key],
      ],
      read(replies, sink) {
        if (isNoSuchKey(replies[0])) {
          // Not created yet (XADD creates it): nothing waits, no groups.
          put(sink, lengthSeries, 0);
          put(sink, groupsSeries, 0);
          return undefined;
        }
        const info = fieldList(value(replies[0], 'XINFO STREAM', key), 'XINFO STREAM', key);
        put(sink, lengthSeries, num(field(info, 'length'), 'XINFO STREAM', key, 'length'));
        put(sink, groupsSeries, num(field(info, 'groups'), 'XINFO STREAM', key, 'groups'));
        const added = field(info, 'entries-added');
        if (added !== undefined && added !== null) {
          const n = num(added, 'XINFO STREAM', key, 'entries-added');
          put(sink, addedSeries, n);
          put(sink, enqueuedSeries, n);
        }
        const lastId = field(info, 'last-generated-id');
        const lastMs = typeof lastId === 'string' ? streamIdMs(lastId) : undefined;
        if (lastMs !== undefined && lastId !== '0-0') put(sink, lastSeries, lastMs / 1000);

        let groups = parseGroups(value(replies[1], 'XINFO GROUPS', key), key);
        if (q.groups.length > 0) {
          const wanted = new Set(q.groups);
          for (const name of wanted) {
            if (!groups.some((g) => g.name === name)) sink.fail(`XINFO GROUPS ${key}: configured group ${name} does not exist`);
          }
          groups = groups.filter((g) => wanted.has(g.name));
        }
        const follow: GroupReads[] = [];
        for (const g of groups) {
          const gs = groupSeries(g.name);
          put(sink, gs.consumers, g.consumers);
          put(sink, gs.pending, g.pending);
          // With entries pending, active and stuck come from the IDLE read of the follow-up.
          if (g.pending === 0) {
            put(sink, gs.active, 0);
            put(sink, gs.stuck, 0);
          }
          if (g.lag !== undefined) {
            put(sink, gs.lag, g.lag);
            put(sink, gs.waiting, g.lag);
          }
          if (g.pending === 0) put(sink, gs.oldestPending, 0);
          if (g.lag === 0) put(sink, gs.age, 0);
          const reads: GroupReads = { group: g, series: gs, pending: g.pending > 0, undelivered: g.lag !== 0, consumers: q.consumers && g.consumers > 0 };
          if (reads.pending || reads.undelivered || reads.consumers) follow.push(reads);
        }
        return follow.length > 0 ? follow : undefined;
      },
      then: {
        commands(groups) {
          const out: Command[] = [];
          for (const r of groups) {
            const gs = r.series;
            if (r.pending) out.push(gs.xpending, gs.xpendingIdle);
            // The first entry after last-delivered-id is the oldest the group has not been given.
            if (r.undelivered) out.push(['XRANGE', key, nextStreamId(r.group.lastDeliveredId), '+', 'COUNT', 1]);
            if (r.consumers) out.push(gs.xinfoConsumers);
          }
          return out;
        },
        read(replies, groups, sink, nowMs) {
          let i = 0;
          for (const r of groups) {
            if (r.pending) readPending(replies[i++], q, r, sink, nowMs);
            if (r.pending) readIdle(replies[i++], q, r, sink);
            if (r.undelivered) readUndelivered(replies[i++], q, r, sink, nowMs);
            if (r.consumers) readConsumers(replies[i++], q, r, sink);
          }
        },
      },
    };
    steps.push(info);

    const extra: { state: 'retry' | 'dead'; key: string }[] = [];
    if (q.retry) extra.push({ state: 'retry', key: q.retry });
    if (q.dead) extra.push({ state: 'dead', key: q.dead });
    for (const e of extra) {
      const command: PlannedCommand = ['XLEN', e.key];
      const tasks = series('queue_tasks', { ...labels, state: e.state });
      steps.push({
        commands: [command],
        read(replies, sink) {
          put(sink, tasks, int(replies[0], `XLEN ${e.key}`));
          return undefined;
        },
      });
    }
    return steps;
  },
};

/** PEL entries checked for idleness per group per scrape; stuck is capped at this. */
export const MAX_IDLE_CHECK = 1000;

/**
 * XPENDING extended form with IDLE → stuck (entries idle past the queue's
 * latency threshold, at most {@link MAX_IDLE_CHECK}); active = PEL size − stuck.
 * Redis < 6.2 has no IDLE filter: every pending entry stays active.
 */
function readIdle(reply: Reply | undefined, q: StreamQueue, r: GroupReads, sink: SampleSink): void {
  const g = r.group;
  const err = reply?.[0];
  if (err && /syntax|wrong number/i.test(err.message)) {
    put(sink, r.series.active, g.pending);
    return;
  }
  const entries = attempt(sink, array, reply, 'XPENDING IDLE', q.key, g.name);
  if (!entries) return;
  const stuck = Math.min(entries.length, g.pending);
  put(sink, r.series.active, g.pending - stuck);
  put(sink, r.series.stuck, stuck);
}

/** XPENDING summary `[count, smallest id, greatest id, [[consumer, count]…]]` → oldest pending age. */
function readPending(reply: Reply | undefined, q: StreamQueue, r: GroupReads, sink: SampleSink, nowMs: number): void {
  const summary = attempt(sink, array, reply, 'XPENDING', q.key, r.group.name);
  if (!summary) return;
  const smallest = summary[1];
  const ms = typeof smallest === 'string' ? streamIdMs(smallest) : undefined;
  put(sink, r.series.oldestPending, ms === undefined ? 0 : ageSeconds(nowMs, ms));
}

/** XRANGE of the first entry after last-delivered-id → the oldest undelivered entry's age. */
function readUndelivered(reply: Reply | undefined, q: StreamQueue, r: GroupReads, sink: SampleSink, nowMs: number): void {
  const g = r.group;
  const entries = attempt(sink, array, reply, 'XRANGE', q.key);
  if (!entries) return;
  const first = entries[0];
  const id = Array.isArray(first) ? first[0] : undefined;
  const ms = typeof id === 'string' ? streamIdMs(id) : undefined;
  put(sink, r.series.age, ms === undefined ? 0 : ageSeconds(nowMs, ms));
  // Redis could not say the lag (entries deleted); an empty range still proves nothing waits.
  if (g.lag === undefined && entries.length === 0) put(sink, r.series.waiting, 0);
}

/** XINFO CONSUMERS → per consumer pending and idle time. */
function readConsumers(reply: Reply | undefined, q: StreamQueue, r: GroupReads, sink: SampleSink): void {
  const g = r.group;
  try {
    for (const c of array(reply, 'XINFO CONSUMERS', q.key, g.name)) {
      const m = fieldList(c, 'XINFO CONSUMERS', q.key, g.name);
      const cs = consumerSeries(r.series, q.key, g.name, String(field(m, 'name')));
      put(sink, cs.pending, num(field(m, 'pending'), 'XINFO CONSUMERS', q.key, 'pending'));
      put(sink, cs.idle, num(field(m, 'idle'), 'XINFO CONSUMERS', q.key, 'idle') / 1000);
    }
  } catch (err) {
    sink.fail((err as Error).message);
  }
}

/** The series of one consumer of a group, built the first time it is seen (the group's cache, bounded like the groups'). */
function consumerSeries(gs: GroupSeries, key: string, group: string, consumer: string): ConsumerSeries {
  let cs = gs.consumerCache.get(consumer);
  if (!cs) {
    if (gs.consumerCache.size >= MAX_CACHED_GROUPS) gs.consumerCache.clear();
    const cl = { stream: key, group, consumer };
    cs = { pending: series('queue_stream_consumer_pending', cl), idle: series('queue_stream_consumer_idle_seconds', cl) };
    gs.consumerCache.set(consumer, cs);
  }
  return cs;
}

/**
 * Streams: declared with their groups, retry and dead-letter streams, or
 * discovered by `match` (SCAN … TYPE stream, keys other configured
 * frameworks own skipped, so BullMQ's `events` streams are not queues).
 */
export const stream = defineFramework({
  name: 'stream',
  layout: streamLayout,
  declare: { schema: streamQueueSchema },
  discover: {
    schema: z.strictObject({
      framework: z.literal('stream'),
      match: z.string().min(1).default('*'),
      consumers: z.boolean().default(true),
      ...thresholds,
    }),
    byDefault: true,
    phase: 'pattern',
    collector: 'discovered_stream',
    find: (e, ctx) =>
      findByPattern(ctx, e.match, 'stream', (key) => ({
        name: key, key, type: 'stream' as const, groups: [], consumers: e.consumers, backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold,
      })),
  },
});
