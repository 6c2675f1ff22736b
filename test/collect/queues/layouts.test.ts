/**
 * The framework layouts as pure functions: planned commands and what given
 * replies mean, for the cases a live framework no longer produces (BullMQ < 5
 * markers and paused list) or that are hard to stage (a partial Celery read).
 */
import { describe, expect, it } from 'vitest';
import { asynqLayout, pendingSinceMs } from '../../../src/collect/queues/asynq.js';
import { bullmqLayout, oldestOfTail, type BullmqQueue } from '../../../src/collect/queues/bullmq.js';
import { celeryBaseName, celeryKeys, celeryLayout } from '../../../src/collect/queues/celery.js';
import { rqLayout } from '../../../src/collect/queues/rq.js';
import { sidekiqEnqueuedAtMs, sidekiqPrefix } from '../../../src/collect/queues/sidekiq.js';
import { resolveCommand, type Labels, type ReadStep, type SampleSink } from '../../../src/collect/types.js';
import type { Command, Reply } from '../../../src/redis/command.js';
import { escapeGlob, isGlob } from '../../../src/redis/glob.js';

interface Recorded {
  samples: { family: string; labels: Labels; value: number }[];
  failures: string[];
}

function sink(): SampleSink & Recorded {
  const rec: Recorded = { samples: [], failures: [] };
  return { ...rec, declare() {}, add: (family, labels, value) => void rec.samples.push({ family, labels, value }), fail: (r) => void rec.failures.push(r) } as SampleSink & Recorded;
}

const ok = (v: unknown): Reply => [null, v];
const wrongType: Reply = [new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), null];

/** A step as the engine sends it at `nowMs`: resolved commands, and a read that yields the follow-up (if any) as such a step too. */
interface Sent {
  readonly commands: readonly Command[];
  read(replies: readonly Reply[], sink: SampleSink): Sent[];
}

/** The steps of a layout at `nowMs`. */
function plan<Q>(layout: { steps(q: Q): ReadStep[] }, q: Q, nowMs: number): Sent[] {
  return layout.steps(q).map((step) => ({
    commands: step.commands.map((c) => resolveCommand(c, nowMs)),
    read(replies, sink) {
      const carry = step.read(replies, sink, nowMs);
      if (carry === undefined || !step.then) return [];
      const then = step.then;
      return [{ commands: then.commands(carry), read: (r, s) => (then.read(r, carry, s, nowMs), []) }];
    },
  }));
}

/** Runs a step on replies and returns its dependent steps as an array. */
function run(step: Sent, replies: Reply[], s: SampleSink): Sent[] {
  expect(replies).toHaveLength(step.commands.length);
  return step.read(replies, s);
}

function value(s: Recorded, family: string, match: Labels): number | undefined {
  return s.samples.find((x) => x.family === family && Object.entries(match).every(([k, v]) => x.labels[k] === v))?.value;
}

const ident = { backlogThreshold: 1, latencyThreshold: 1000 };

describe('BullMQ replies', () => {
  const q: BullmqQueue = { name: 'old', key: 'bull:old:wait', prefix: 'bull', ...ident };

  it('does not count a BullMQ < 5 marker as a job, and counts the legacy paused list as waiting', () => {
    const [step] = plan(bullmqLayout, q, 10_000);
    const s = sink();
    const replies = [ok(3), ok(['2', '0:1700000000000']), ok(2), ok(['7', '6']), ok(1), ok(['9']), ok(0), ok(0), ok(0), ok(0), ok(0), ok(null), ok(null)];
    const [follow] = run(step!, replies, s);
    expect(value(s, 'queue_tasks', { state: 'waiting' })).toBe(2 + 2 + 1);
    // Oldest candidates: wait's tail skipping the marker, paused's tail, next prioritized job.
    expect(follow?.commands).toEqual([['HGET', 'bull:old:2', 'timestamp'], ['HGET', 'bull:old:6', 'timestamp'], ['HGET', 'bull:old:9', 'timestamp']]);
    run(follow!, [ok('4000'), ok(null), ok('7000')], s);
    expect(value(s, 'queue_oldest_task_age_seconds', {})).toBe(6);
    // Metrics not enabled: no counters at all.
    expect(s.samples.filter((x) => x.family.endsWith('_total'))).toEqual([]);
  });

  it('oldestOfTail handles empty, single and marker-only lists', () => {
    expect(oldestOfTail([])).toEqual({ id: undefined, marker: false });
    expect(oldestOfTail(['5'])).toEqual({ id: '5', marker: false });
    expect(oldestOfTail(['0:1'])).toEqual({ id: undefined, marker: true });
  });

  it('reports failed = 0 when only metrics:completed exists yet', () => {
    const [step] = plan(bullmqLayout, q, 0);
    const s = sink();
    run(step!, [ok(0), ok([]), ok(0), ok([]), ok(0), ok([]), ok(0), ok(0), ok(0), ok(0), ok(1), ok('12'), ok(null)], s);
    expect(value(s, 'queue_processed_total', {})).toBe(12);
    expect(value(s, 'queue_failed_total', {})).toBe(0);
    expect(value(s, 'queue_paused', {})).toBe(1);
    expect(value(s, 'queue_oldest_task_age_seconds', {})).toBe(0);
  });
});

describe('Celery replies', () => {
  it('reads the bare name and `\\x06\\x16<step>` sub-lists', () => {
    expect(celeryKeys('q', [0, 3, 6, 9])).toEqual(['q', 'q\x06\x163', 'q\x06\x166', 'q\x06\x169']);
    expect(celeryKeys('q', [9, 3])).toEqual(['q', 'q\x06\x163', 'q\x06\x169']);
    expect(celeryBaseName('q\x06\x166')).toBe('q');
  });

  it('exports no partial sum when a sub-list cannot be read', () => {
    const [step] = plan(celeryLayout, { name: 'q', key: 'q', prioritySteps: [0, 3], ...ident }, 0);
    const s = sink();
    run(step!, [ok(4), wrongType], s);
    expect(s.samples.filter((x) => x.family === 'queue_tasks')).toEqual([]);
    expect(s.failures[0]).toMatch(/wrong type/);
  });
});

describe('RQ replies', () => {
  it('subtracts entries RQ cleanup would remove (score in [0, now]) from wip, finished and failed', () => {
    const nowMs = 1_700_000_000_500;
    const [step] = plan(rqLayout, { name: 'default', key: 'rq:queue:default', ...ident }, nowMs);
    expect(step!.commands).toContainEqual(['ZCOUNT', 'rq:wip:default', 0, 1_700_000_000]);
    const s = sink();
    const [follow] = run(step!, [ok(1), ok('job1'), ok(5), ok(2), ok(9), ok(0), ok(4), ok(1), ok(2), ok(3)], s);
    expect(value(s, 'queue_tasks', { state: 'active' })).toBe(3);
    expect(value(s, 'queue_tasks', { state: 'completed' })).toBe(9);
    expect(value(s, 'queue_tasks', { state: 'dead' })).toBe(3);
    expect(value(s, 'queue_tasks', { state: 'scheduled' })).toBe(5);
    run(follow!, [ok('2023-11-14T22:13:10.500000Z')], s);
    expect(value(s, 'queue_oldest_task_age_seconds', {})).toBe(10);
  });
});

describe('asynq and Sidekiq timestamps', () => {
  it('pending_since is unix nanoseconds', () => {
    expect(pendingSinceMs('1700000000123456789', 'x')).toBeCloseTo(1_700_000_000_123.4568, 3);
    expect(() => pendingSinceMs('abc', 'HGET t pending_since')).toThrow(/not a number/);
  });

  it('a missing pending_since (task dequeued between batches) gives no age and no failure', () => {
    const [step] = plan(asynqLayout, { name: 'q', key: 'asynq:{q}:pending', ...ident }, 0);
    const s = sink();
    const [follow] = run(step!, [ok(1), ok('id1'), ok(0), ok(0), ok(0), ok(0), ok(0), ok(null), ok(null), ok(0)], s);
    expect(follow?.commands).toEqual([['HGET', 'asynq:{q}:t:id1', 'pending_since']]);
    run(follow!, [ok(null)], s);
    expect(value(s, 'queue_oldest_task_age_seconds', {})).toBeUndefined();
    expect(s.failures).toEqual([]);
  });

  it('Sidekiq enqueued_at: float seconds (< 8), integer ms (8), created_at fallback', () => {
    expect(sidekiqEnqueuedAtMs('{"enqueued_at":1712345678.25}')).toBe(1_712_345_678_250);
    expect(sidekiqEnqueuedAtMs('{"enqueued_at":1712345678250}')).toBe(1_712_345_678_250);
    expect(sidekiqEnqueuedAtMs('{"created_at":1712345678}')).toBe(1_712_345_678_000);
    expect(sidekiqEnqueuedAtMs('not json')).toBeUndefined();
    expect([sidekiqPrefix(''), sidekiqPrefix('app'), sidekiqPrefix('app:')]).toEqual(['', 'app:', 'app:']);
  });
});

describe('discovery patterns', () => {
  it('escapes glob characters in prefixes and tells names from patterns', () => {
    expect(escapeGlob('{app}[1]*?')).toBe('{app}\\[1\\]\\*\\?');
    expect([isGlob('celery'), isGlob('celery*'), isGlob('q?'), isGlob('a[bc]'), isGlob('lit\\*')]).toEqual([false, true, true, true, false]);
  });
});
