/**
 * The inspectors' pure parts: planning (bounded, read-only commands only) and
 * reading replies into tasks, with replies built by hand in the shapes Redis
 * sends them; the asynq message decoder on messages damaged the way the
 * UTF-8 reply reader damages them; the text cleaning on hostile input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command, Reply } from '../../src/redis/command.js';
import { READ_ONLY_COMMANDS } from '../../src/redis/batch.js';
import { decodeAsynqMessage } from '../../src/inspect/asynq-message.js';
import { asynqInspector, asynqTaskFacts } from '../../src/inspect/asynq.js';
import { bullJobFacts, bullmqInspector, delayedDueMs } from '../../src/inspect/bullmq.js';
import { celeryInspector, celeryMessageFacts } from '../../src/inspect/celery.js';
import { listInspector, listTaskFacts } from '../../src/inspect/list.js';
import { rqExcString, rqInspector, rqJobIdOfMember } from '../../src/inspect/rq.js';
import { sidekiqBusyFacts, sidekiqInspector, sidekiqJobFacts } from '../../src/inspect/sidekiq.js';
import { compareIds, entryFacts, streamInspector } from '../../src/inspect/stream.js';
import { makeTask } from '../../src/inspect/task.js';
import { zsetInspector } from '../../src/inspect/zset.js';
import { clean, escapeInvisible, preview, PREVIEW_BYTES } from '../../src/inspect/text.js';
import { TASK_STATES, type InspectRequest, type InspectSink, type InspectStep, type TaskView } from '../../src/inspect/types.js';
import { runInspection } from '../../src/inspect/run.js';
import { deflateSync } from 'node:zlib';

const NOW = 1_764_660_000_000;
const req = (over: Partial<InspectRequest> = {}): InspectRequest => ({ states: new Set(TASK_STATES), limit: 20, nowMs: NOW, payloads: true, ...over });
const ok = (v: unknown): Reply => [null, v];

/** Protobuf helpers (field encoders, as protoc would write them). */
function varint(n: number | bigint): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  while (v > 127n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const pbBytes = (f: number, b: Buffer) => Buffer.concat([varint((f << 3) | 2), varint(b.length), b]);
const pbStr = (f: number, s: string) => pbBytes(f, Buffer.from(s, 'utf8'));
const pbInt = (f: number, n: number) => Buffer.concat([varint(f << 3), varint(n)]);
/** What the RESP reader hands over: the bytes decoded as UTF-8 (lossy). */
const asReply = (b: Buffer) => b.toString('utf8');

function collect(): { sink: InspectSink; tasks: TaskView[]; totals: Map<string, number>; problems: string[] } {
  const tasks: TaskView[] = [];
  const totals = new Map<string, number>();
  const problems: string[] = [];
  return { tasks, totals, problems, sink: { total: (s, n) => void totals.set(s, n), note: () => undefined, task: (t) => void tasks.push(t), problem: (p) => void problems.push(p) } };
}

/** Every planned command is read-only and bounded (a COUNT / LIMIT / index range of at most `max`). */
function expectBounded(commands: readonly Command[], max: number): void {
  for (const c of commands) {
    const name = c[0].toUpperCase();
    expect(READ_ONLY_COMMANDS.has(name), name).toBe(true);
    const args = c.slice(1).map(String);
    if (name === 'LRANGE') expect(Math.abs(Number(args[2]) - Number(args[1])) + 1).toBeLessThanOrEqual(max);
    if (name === 'ZRANGE') {
      const limit = args.indexOf('LIMIT');
      if (limit >= 0) expect(Number(args[limit + 2])).toBeLessThanOrEqual(max);
      else expect(Number(args[2]) - Number(args[1]) + 1).toBeLessThanOrEqual(max);
    }
    if (name === 'XRANGE' || name === 'XREVRANGE') expect(Number(args[args.indexOf('COUNT') + 1])).toBeLessThanOrEqual(max);
    if (name === 'XPENDING') expect(Number(args[args.length - 1])).toBeLessThanOrEqual(max);
    if (name === 'SSCAN') expect(Number(args[args.indexOf('COUNT') + 1])).toBeLessThanOrEqual(max);
    expect(['KEYS', 'SCAN', 'SMEMBERS', 'HGETALL']).not.toContain(name);
  }
}

describe('asynq message decoding', () => {
  const full = (payload: string, error: string) =>
    Buffer.concat([pbStr(1, 'email:deliver'), pbStr(2, payload), pbStr(3, 'a1b2'), pbStr(4, 'critical'), pbInt(5, 25), pbInt(6, 3), pbStr(7, error), pbInt(8, 1800), pbInt(11, 1_764_659_000)]);

  it('decodes an intact message exactly', () => {
    const m = decodeAsynqMessage(asReply(full('{"user_id":42}', 'smtp: 550 mailbox unavailable')))!;
    expect(m).toMatchObject({ type: 'email:deliver', payload: '{"user_id":42}', id: 'a1b2', queue: 'critical', retry: 25, retried: 3, errorMsg: 'smtp: 550 mailbox unavailable' });
    // 1800 and the timestamp are varints with bytes above 127: damaged by the UTF-8 reply, so unknown, not wrong.
    expect(m.lastFailedAt === undefined || m.lastFailedAt === 1_764_659_000).toBe(true);
  });

  it('recovers strings behind a damaged length prefix (payload > 127 bytes)', () => {
    const payload = JSON.stringify({ text: '你好'.repeat(100), n: 1 });
    const m = decodeAsynqMessage(asReply(full(payload, 'x'.repeat(300))))!;
    expect(m.type).toBe('email:deliver');
    expect(m.payload).toBe(payload);
    expect(m.id).toBe('a1b2');
    expect(m.errorMsg).toBe('x'.repeat(300));
    expect(m.retried).toBe(3);
  });

  it('decodes exactly from the real bytes (latin1 would be lossless)', () => {
    const b = full('p', 'e');
    const m = decodeAsynqMessage(asReply(b))!;
    expect(m.retry).toBe(25);
  });

  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => void decodeAsynqMessage(s)), { numRuns: Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 200) });
  });

  it('reads a task hash: pending_since (ns) as the enqueue time, archived score as failed-at', () => {
    const msg = asReply(full('{}', 'boom'));
    const f = asynqTaskFacts({ state: 'dead', id: 'a1b2', score: 1_764_659_500 }, { msg, state: 'archived', pending_since: null })!;
    expect(f.error).toBe('boom');
    expect(f.attempts).toBe(4);
    expect(f.failedAtMs === 1_764_659_000_000 || f.failedAtMs === 1_764_659_500_000).toBe(true);
    const p = asynqTaskFacts({ state: 'waiting', id: 'p' }, { msg: asReply(full('{}', '')), state: 'pending', pending_since: String(BigInt(NOW - 90_000) * 1_000_000n) })!;
    expect(makeTask(p, req()).ageSeconds).toBe(90);
  });

  it('plans stuck from the lease set with a LIMIT, and a second batch of HMGETs', async () => {
    const steps = asynqInspector.list({ name: 'critical', key: 'asynq:{critical}:', backlogThreshold: 0, latencyThreshold: 0 }, req({ limit: 5 }));
    const cmds = steps.flatMap((s) => s.commands);
    expectBounded(cmds, 5);
    expect(cmds).toContainEqual(['ZRANGE', 'asynq:{critical}:lease', '-inf', Math.floor(NOW / 1000), 'BYSCORE', 'LIMIT', 0, 5, 'WITHSCORES']);
  });
});

describe('BullMQ', () => {
  it('reads a failed job hash', () => {
    const f = bullJobFacts({ state: 'dead', id: '7' }, { name: 'send', data: '{"to":"a@b"}', timestamp: String(NOW - 5000), atm: '3', attemptsMade: null, failedReason: 'SMTP 550', finishedOn: String(NOW - 1000), processedOn: String(NOW - 2000) })!;
    const t = makeTask(f, req());
    expect(t).toMatchObject({ id: '7', state: 'dead', name: 'send', attempts: 3, error: 'SMTP 550', failedAt: (NOW - 1000) / 1000, ageSeconds: 5, payload: '{"to":"a@b"}' });
  });

  it('turns a delayed score into its due time', () => {
    expect(delayedDueMs((NOW + 60_000) * 0x1000 + 7)).toBe(NOW + 60_000);
  });

  it('derives stuck from active jobs without a lock, in one dependent batch', async () => {
    const q = { name: 'mail', key: 'bull:mail', prefix: 'bull', backlogThreshold: 0, latencyThreshold: 0 };
    const [first] = bullmqInspector.list(q, req({ states: new Set(['active', 'stuck']), limit: 10 }));
    expectBounded(first!.commands, 10);
    const c = collect();
    const next = first!.read([ok(2), ok(['2', '1'])], c.sink) as InspectStep;
    expect(next.commands).toEqual([
      ['HMGET', 'bull:mail:1', 'name', 'data', 'timestamp', 'atm', 'attemptsMade', 'failedReason', 'finishedOn', 'processedOn'],
      ['EXISTS', 'bull:mail:1:lock'],
      ['HMGET', 'bull:mail:2', 'name', 'data', 'timestamp', 'atm', 'attemptsMade', 'failedReason', 'finishedOn', 'processedOn'],
      ['EXISTS', 'bull:mail:2:lock'],
    ]);
    next.read([ok(['a', '{}', String(NOW - 1000), '0', null, null, null, String(NOW)]), ok(1), ok(['b', '{}', String(NOW - 500), '0', null, null, null, String(NOW)]), ok(0)], c.sink);
    expect(c.tasks.map((t) => `${t.state}:${t.id}`)).toEqual(['active:1', 'active:2', 'stuck:2']);
  });
});

describe('Sidekiq, Celery, RQ', () => {
  it('reads a Sidekiq 8 dead job and a Sidekiq 7 job', () => {
    const dead = sidekiqJobFacts(JSON.stringify({ jid: 'j1', class: 'HardJob', args: [1], queue: 'default', enqueued_at: NOW - 3000, retry_count: 2, error_message: 'boom', error_class: 'RuntimeError', failed_at: (NOW - 2000) / 1000 }), 'dead', NOW / 1000);
    expect(makeTask(dead, req())).toMatchObject({ id: 'j1', name: 'HardJob', attempts: 3, error: 'RuntimeError: boom', failedAt: (NOW - 2000) / 1000, ageSeconds: 3, payload: '[1]' });
    const s7 = sidekiqJobFacts(JSON.stringify({ jid: 'j2', class: 'X', args: [], enqueued_at: (NOW - 10_500) / 1000 }), 'waiting');
    expect(makeTask(s7, req()).ageSeconds).toBe(10.5);
  });

  it('reads Sidekiq busy jobs from a work hash, flat or as an object', () => {
    const work = JSON.stringify({ queue: 'default', payload: JSON.stringify({ jid: 'b1', class: 'SlowJob', args: [] }), run_at: 1 });
    const other = JSON.stringify({ queue: 'mailers', payload: { jid: 'b2', class: 'Mail' }, run_at: 1 });
    expect(sidekiqBusyFacts(['t1', work, 't2', other], 'p1', 'default').map((f) => [f.id, f.consumer])).toEqual([['b1', 'p1']]);
    expect(sidekiqBusyFacts({ t1: work, t2: other }, 'p1', undefined).map((f) => f.id)).toEqual(['b1', 'b2']);
    expect(sidekiqBusyFacts({ t1: 'not json' }, 'p1', undefined)).toEqual([]);
  });

  it('reads a Celery protocol 2 message (base64 body)', () => {
    const body = Buffer.from(JSON.stringify([[2, 3], {}, {}])).toString('base64');
    const f = celeryMessageFacts(JSON.stringify({ body, headers: { task: 'tasks.add', id: 'c1', retries: 1 }, properties: { body_encoding: 'base64' } }));
    expect(makeTask(f, req())).toMatchObject({ id: 'c1', name: 'tasks.add', attempts: 1, payload: '[[2,3],{},{}]', enqueuedAt: null });
  });

  it('reads RQ started-registry members and exc_string', () => {
    expect(rqJobIdOfMember('0000-aaaa:exec1')).toBe('0000-aaaa');
    expect(rqJobIdOfMember('plain')).toBe('plain');
    const tb = 'Traceback (most recent call last):\n  File "x.py"\nZeroDivisionError: division by zero\n';
    expect(rqExcString(deflateSync(Buffer.from(tb)).toString('base64'))).toBe(tb);
    expect(rqExcString('not base64 zlib')).toBeUndefined();
  });
});

describe('streams and lists', () => {
  const sq = { type: 'stream' as const, name: 's', key: 's', groups: ['g'], retry: 's:retry', dead: 's:dlq', consumers: true, backlogThreshold: 0, latencyThreshold: 60_000 };

  it('reads PEL entries with consumer, idle and deliveries, fields from the second batch', () => {
    const steps = streamInspector.list(sq, req({ limit: 3 }));
    const cmds = steps.flatMap((s) => s.commands);
    expectBounded(cmds, 3);
    expect(cmds).toContainEqual(['XPENDING', 's', 'g', '-', '+', 3]);
    expect(cmds).toContainEqual(['XPENDING', 's', 'g', 'IDLE', 60_000, '-', '+', 3]);
    const c = collect();
    const pel = steps[0]!;
    const next = pel.read([ok([['1700000000000-0', 'c1', 120_000, 4]]), ok([['1700000000000-0', 'c1', 120_000, 4]])], c.sink) as InspectStep;
    next.read([ok([['1700000000000-0', ['task_id', 't1', 'type', 'crawl']]]), ok([['1700000000000-0', ['task_id', 't1', 'type', 'crawl']]])], c.sink);
    expect(c.tasks.map((t) => [t.state, t.consumer, t.idleSeconds, t.deliveries, t.name, t.enqueuedAt])).toEqual([
      ['active', 'c1', 120, 4, 'crawl', 1_700_000_000],
      ['stuck', 'c1', 120, 4, 'crawl', 1_700_000_000],
    ]);
  });

  it('reads a dead-letter entry with its error and dead_at', () => {
    const t = makeTask(entryFacts('1700000000000-1', { task_id: 't9', error: 'upstream 503', attempt: '3', dead_at: '1700000100' }, 'dead'), req());
    expect(t).toMatchObject({ error: 'upstream 503', attempts: 3, failedAt: 1_700_000_100 });
  });

  it('compares stream ids numerically', () => {
    expect(compareIds('10-0', '9-5')).toBe(1);
    expect(compareIds('9-5', '9-5')).toBe(0);
  });

  it('reads list tasks from the details hash in a second batch', async () => {
    const lq = { type: 'list' as const, name: 'exam', key: 'task:queue', details: 'task:details', failed: 'task:failed', oldestAt: 'head' as const, windows: [], backlogThreshold: 0, latencyThreshold: 0 };
    const [step] = listInspector.list(lq, req({ limit: 2 }));
    expectBounded(step!.commands, 2);
    const c = collect();
    const next = step!.read([ok(5), ok(['a', 'b']), ok(1), ok(['0', ['z']])], c.sink) as InspectStep;
    expect(next.commands).toEqual([['HMGET', 'task:details', 'a', 'b', 'z']]);
    next.read([ok([JSON.stringify({ created_at: NOW / 1000 - 7, exam_id: 3 }), null, JSON.stringify({ error: 'db timeout' })])], c.sink);
    expect(c.tasks.map((t) => [t.state, t.id, t.ageSeconds, t.error])).toEqual([
      ['waiting', 'a', 7, null],
      ['waiting', 'b', null, null],
      ['dead', 'z', null, 'db timeout'],
    ]);
    expect(listTaskFacts('{"task_id":"x"}', undefined, 'waiting').id).toBe('x');
  });
});

describe('text cleaning', () => {
  it('escapes bidi controls, zero-width and control characters', () => {
    expect(escapeInvisible('a\u202eb\u2066c\u200bd\u0000e\nf')).toBe('a\\u202eb\\u2066c\\u200bd\\u0000e\\nf');
    expect(clean('x'.repeat(300)).length).toBe(201);
  });

  it('cuts a 1 MB payload to 512 bytes and keeps its size', () => {
    const p = preview('<script>'.repeat(150_000), true);
    expect(p.payloadTruncated).toBe(true);
    expect(p.payloadBytes).toBe(1_200_000);
    expect(Buffer.byteLength(p.payload!)).toBeLessThanOrEqual(PREVIEW_BYTES);
    expect(preview('secret', false)).toEqual({ payload: null, payloadBytes: 6, payloadTruncated: false });
  });

  it('never lets an invisible or bidi character through, and never exceeds the bounds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (s) => {
        const p = preview(s, true);
        expect(p.payload ?? '').not.toMatch(/[\u0000-\u001f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/);
        // Escaping can grow the text (\u202e is 6 characters), but the input part is at most 512 bytes.
        expect((p.payload ?? '').length).toBeLessThanOrEqual(PREVIEW_BYTES * 6);
      }),
      { numRuns: Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 200) },
    );
  });
});

describe('runner', () => {
  it('refuses a third batch and records reader errors as problems', async () => {
    const sent: number[] = [];
    const executor = {
      async exec(cmds: readonly { command: Command }[]) {
        sent.push(cmds.length);
        return { ok: true, roundtrips: 1, replies: cmds.map(() => ok(1)) };
      },
      async scanKeys() {},
      async close() {},
    };
    const third: InspectStep = { commands: [['GET', 'c']], read: () => undefined };
    const second: InspectStep = { commands: [['GET', 'b']], read: () => third };
    const first: InspectStep = { commands: [['GET', 'a']], read: () => second };
    const bad: InspectStep = { commands: [['GET', 'x']], read: () => { throw new Error('unreadable'); } };
    const r = await runInspection(executor, [first, bad], Date.now() + 1000);
    expect(sent).toEqual([2, 1]);
    expect(r.problems).toEqual(['unreadable', 'internal: a third batch was planned and refused']);
  });
});

describe('hostile replies (property)', () => {
  const runs = Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 100);
  const leaf = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null), fc.constantFrom('{"jid":1}', '{}', '1700000000000-0', '[]'));
  const replyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({ v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 6 })) })).v;
  const reply = fc.oneof(replyValue.map((v): Reply => [null, v]), fc.constant<Reply>([new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), null]));
  const queues = [
    ['asynq', asynqInspector, { name: 'q', key: 'q', backlogThreshold: 0, latencyThreshold: 0 }],
    ['bullmq', bullmqInspector, { name: 'q', key: 'bull:q', prefix: 'bull', backlogThreshold: 0, latencyThreshold: 0 }],
    ['stream', streamInspector, { type: 'stream', name: 's', key: 's', groups: [], consumers: true, retry: 's:r', dead: 's:d', backlogThreshold: 0, latencyThreshold: 1000 }],
    ['list', listInspector, { type: 'list', name: 'l', key: 'l', details: 'd', failed: 'f', oldestAt: 'head', windows: [], backlogThreshold: 0, latencyThreshold: 0 }],
    ['sidekiq', sidekiqInspector, { name: 'default', key: 'queue:default', namespace: '', backlogThreshold: 0, latencyThreshold: 0 }],
    ['rq', rqInspector, { name: 'high', key: 'rq:queue:high', backlogThreshold: 0, latencyThreshold: 0 }],
    ['celery', celeryInspector, { name: 'celery', key: 'celery', prioritySteps: [0, 3], backlogThreshold: 0, latencyThreshold: 0 }],
    ['zset', zsetInspector, { type: 'zset', name: 'z', key: 'z', backlogThreshold: 0, latencyThreshold: 0 }],
  ] as const;

  it('every inspector reads any reply shape into schema-valid tasks or problems, never a throw', async () => {
    const { taskSchema } = await import('../../src/inspect/schema.js');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...queues), fc.array(reply, { maxLength: 40 }), fc.string({ maxLength: 20 }), async ([, inspector, q], replies, id) => {
        let i = 0;
        const executor = {
          async exec(cmds: readonly { command: Command }[]) {
            return { ok: true, roundtrips: 1, replies: cmds.map(() => replies[i++ % Math.max(1, replies.length)] ?? ok(null)) };
          },
          async scanKeys() {},
          async close() {},
        };
        const insp = inspector as unknown as { list(q: unknown, r: InspectRequest): InspectStep[]; lookup?(q: unknown, id: string, r: InspectRequest): InspectStep[] };
        for (const steps of [insp.list(q, req()), insp.lookup?.(q, id, req()) ?? []]) {
          const r = await runInspection(executor, steps, Date.now() + 1000);
          for (const t of r.tasks) taskSchema.parse(t);
        }
      }),
      { numRuns: runs },
    );
  });
});
