/**
 * A Redis LIST queue with the team's companion keys (shared/spec/frameworks.md,
 * "List + companions"): `details` HASH id -> JSON with `created_at`, `done` /
 * `failed` SETs of ids or integer counters, and a `timeline` ZSET scored by
 * enqueue time for sliding-window counts.
 *
 * First batch: LLEN, LINDEX (the oldest element), HLEN, SCARD / GET,
 * ZRANGE -1 -1 WITHSCORES (to tell seconds from milliseconds) and ZCOUNT per
 * window in both units. Second batch: HGET details <oldest id> when the task
 * body lives in the details hash.
 */
import type { ListQueueConfig } from '../../config/schema.js';
import { array, int, numericString, parseJsonObject, parseTimestampMs, readEach, stringOrNull } from '../replies.js';
import type { Command, ReadStep, Reply, SampleSink } from '../types.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';
import { formatDuration } from '../../config/durations.js';

/** A list queue ready to plan: config with its `name` resolved. */
export type ListQueue = QueueIdentity & Omit<ListQueueConfig, 'name'>;

/** Field names a task JSON may carry its enqueue time in, most specific first. */
const CREATED_FIELDS = ['created_at', 'createdAt', 'enqueued_at', 'enqueuedAt', 'timestamp', 'ts'];

/**
 * Reads the enqueue time out of a task body (JSON object with one of
 * {@link CREATED_FIELDS}: unix s/ms or ISO-8601).
 * @returns unix ms, or undefined when the body has none.
 */
export function createdAtMs(body: string): number | undefined {
  // Cheap check first: most list elements are plain ids, not JSON.
  if (!body.startsWith('{')) return undefined;
  const parsed = parseJsonObject(body);
  if (!parsed) return undefined;
  for (const f of CREATED_FIELDS) {
    const v = parsed[f];
    if (v !== undefined) return parseTimestampMs(v);
  }
  return undefined;
}

/** Timeline scores above this are milliseconds (1e11 s is the year 5138). */
const MS_SCORE = 1e11;

/**
 * Plans ZCOUNTs for trailing windows in both units plus the probe of the newest
 * score, so the unit is known without a second round trip.
 */
export function timelineCommands(key: string, windowsMs: readonly number[], nowMs: number): Command[] {
  const nowS = Math.floor(nowMs / 1000);
  const cmds: Command[] = [['ZRANGE', key, -1, -1, 'WITHSCORES']];
  for (const w of windowsMs) {
    cmds.push(['ZCOUNT', key, nowS - Math.floor(w / 1000), nowS]);
    cmds.push(['ZCOUNT', key, nowMs - w, nowMs]);
  }
  return cmds;
}

/** Reads {@link timelineCommands} replies into `queue_window_tasks`. */
export function readTimeline(replies: readonly Reply[], q: { name: string; timeline?: string | undefined; windows: readonly number[] }, framework: string, sink: SampleSink): void {
  const newest = array(replies[0], `ZRANGE ${q.timeline} -1 -1`);
  const inMs = newest.length >= 2 && Number(newest[1]) > MS_SCORE;
  q.windows.forEach((w, i) => {
    const count = int(replies[1 + 2 * i + (inMs ? 1 : 0)], `ZCOUNT ${q.timeline}`);
    sink.add('queue_window_tasks', { queue: q.name, framework, window: formatDuration(w) }, count);
  });
}

export const listLayout: QueueLayout<ListQueue> = {
  framework: 'list',
  plan(q, nowMs) {
    const labels = { queue: q.name, framework: 'list' };
    const steps: ReadStep[] = [];

    steps.push({
      commands: [
        ['LLEN', q.key],
        ['LINDEX', q.key, q.oldestAt === 'head' ? 0 : -1],
      ],
      read(replies, sink) {
        const waiting = int(replies[0], `LLEN ${q.key}`);
        sink.add('queue_tasks', { ...labels, state: 'waiting' }, waiting);
        const oldest = stringOrNull(replies[1], `LINDEX ${q.key}`);
        if (oldest === null) {
          sink.add('queue_oldest_task_age_seconds', labels, 0);
          return;
        }
        if (q.details) {
          const details = q.details;
          return {
            routingKey: details,
            commands: [['HGET', details, oldest]],
            read(r, s) {
              const body = stringOrNull(r[0], `HGET ${details}`);
              // The head id may have been popped between the batches; its age is then unknown this scrape.
              if (body === null) return;
              const ts = createdAtMs(body);
              if (ts === undefined) {
                s.fail(`HGET ${details} <head id>: task has no readable created_at`);
                return;
              }
              s.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, ts));
            },
          };
        }
        // Without a details hash the element itself may be the task JSON.
        const ts = createdAtMs(oldest);
        if (ts !== undefined) sink.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, ts));
        return;
      },
    });

    const counters: Command[] = [];
    const readers: ((r: Reply, sink: SampleSink, acc: { ok?: number; failed?: number }) => void)[] = [];
    if (q.enqueuedCounter) {
      const key = q.enqueuedCounter;
      counters.push(['GET', key]);
      readers.push((r, sink) => sink.add('queue_enqueued_total', labels, numericString(r, `GET ${key}`) ?? 0));
    } else if (q.details) {
      const details = q.details;
      counters.push(['HLEN', details]);
      readers.push((r, sink) => sink.add('queue_enqueued_total', labels, int(r, `HLEN ${details}`)));
    }
    if (q.done) {
      const done = q.done;
      counters.push(['SCARD', done]);
      readers.push((r, _s, acc) => (acc.ok = int(r, `SCARD ${done}`)));
    } else if (q.processedCounter) {
      const key = q.processedCounter;
      counters.push(['GET', key]);
      readers.push((r, _s, acc) => (acc.ok = numericString(r, `GET ${key}`) ?? 0));
    }
    if (q.failed) {
      const failed = q.failed;
      counters.push(['SCARD', failed]);
      readers.push((r, _s, acc) => (acc.failed = int(r, `SCARD ${failed}`)));
    } else if (q.failedCounter) {
      const key = q.failedCounter;
      counters.push(['GET', key]);
      readers.push((r, _s, acc) => (acc.failed = numericString(r, `GET ${key}`) ?? 0));
    }
    if (counters.length > 0) {
      steps.push({
        commands: counters,
        read(replies, sink) {
          const acc: { ok?: number; failed?: number } = {};
          readEach(readers.map((read) => (r: Reply, s: SampleSink) => read(r, s, acc)), replies, sink);
          // processed = successes + failures (metrics.md: failure ratio = failed / processed).
          if (acc.ok !== undefined) sink.add('queue_processed_total', labels, acc.ok + (acc.failed ?? 0));
          if (acc.failed !== undefined) sink.add('queue_failed_total', labels, acc.failed);
        },
      });
    }

    if (q.timeline) {
      const timeline = q.timeline;
      steps.push({
        routingKey: timeline,
        commands: timelineCommands(timeline, q.windows, nowMs),
        read: (replies, sink) => readTimeline(replies, q, 'list', sink),
      });
    }
    return steps;
  },
};
