/**
 * The stream flow, after the team's Go Redis-Stream queue: a producer XADDs
 * tasks to `task_stream`; consumers of group `scheduler_group` XREADGROUP and
 * XACK them, and now and then "crash" mid-batch, leaving entries in the PEL;
 * a retry worker claims abandoned entries (XAUTOCLAIM), re-drives failed ones
 * from `task_stream:retry` after a backoff, dead-letters those that failed
 * too often into `task_stream:dlq`, and deletes dead consumers from the group.
 *
 * Bounded: the work stream is XADDed with `MAXLEN ~ keep`, the DLQ with
 * `MAXLEN ~ 1000`; retry entries are XDELed when re-driven.
 */
import type { Redis } from 'ioredis';
import type { FlowContext } from './exam.js';
import { STREAM } from './keys.js';
import { eachLimited, Pacer, randomInt, sleep, throttledWarn } from './pace.js';

/** Attempts before an entry goes to the dead-letter stream. */
export const MAX_ATTEMPTS = 3;
/** Approximate cap of the dead-letter stream. */
export const DLQ_MAXLEN = 1000;
/** Stream consumers (slots) the demo runs; each restarts under a new name after a crash. */
export const STREAM_CONSUMERS = 3;

type Entry = { id: string; fields: Record<string, string> };

/** Turns `[id, [field, value, …]]` pairs (XREADGROUP / XAUTOCLAIM / XRANGE) into entries; deleted entries (null fields) are dropped. */
function toEntries(raw: unknown): Entry[] {
  if (!Array.isArray(raw)) return [];
  const out: Entry[] = [];
  for (const item of raw) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || !Array.isArray(item[1])) continue;
    const flat = item[1] as string[];
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
    out.push({ id: item[0], fields });
  }
  return out;
}

/** Field list for XADD from a record. */
function flatten(fields: Record<string, string | number>): (string | number)[] {
  return Object.entries(fields).flat();
}

/** Creates the consumer group (and the stream) when missing; an existing group is kept. */
export async function ensureGroup(redis: Redis): Promise<void> {
  try {
    await redis.xgroup('CREATE', STREAM.stream, STREAM.group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
  }
}

/** Runs the stream producer until the signal aborts. */
export async function runStreamProducer(ctx: FlowContext): Promise<void> {
  const { redis, options, signal } = ctx;
  const warn = throttledWarn((o, m) => ctx.log.warn(o, m));
  const pacer = new Pacer(() => options.rate * ctx.rateFactor());
  const run = Date.now().toString(36);
  let seq = 0;
  while (!signal.aborted) {
    try {
      const n = pacer.take(5000);
      if (n > 0) {
        const p = redis.pipeline();
        const nowS = Math.floor(Date.now() / 1000);
        for (let i = 0; i < n; i++) {
          const poison = Math.random() < options.failRatio / 5;
          const payload = JSON.stringify({ url: `https://shop.example/item/${randomInt(1, 99_999)}`, ...(poison ? { poison: true } : {}) });
          p.xadd(STREAM.stream, 'MAXLEN', '~', options.keep, '*', ...flatten({ task_id: `crawl-${run}-${++seq}`, payload, created_at: nowS, attempt: 0 }));
        }
        await p.exec();
      }
    } catch (err) {
      warn(err, 'demo: stream producer write failed');
    }
    await sleep(options.timing.tickMs, signal);
  }
}

/** Bookkeeping the consumers share with the retry worker. */
export interface StreamState {
  /** Names of consumers currently alive (the retry worker never deletes these). */
  readonly live: Set<string>;
  /** Throughput cap of all consumers together. */
  readonly capacity: Pacer;
}

/** Creates the shared state; consumers together handle at most twice the base rate. */
export function streamState(rate: number): StreamState {
  return { live: new Set(), capacity: new Pacer(() => rate * 2) };
}

/**
 * One consumer slot: reads with its own (blocking) connection; after a random
 * time (mean `crashEveryMs`) it "crashes" halfway through a batch, leaving the
 * rest un-acknowledged, and comes back `restartAfterMs` later under a new name.
 */
export async function runStreamConsumer(ctx: FlowContext, slot: number, state: StreamState): Promise<void> {
  const { options, signal } = ctx;
  const warn = throttledWarn((o, m) => ctx.log.warn(o, m));
  const conn = ctx.redis.duplicate();
  const lanes = Math.max(2, Math.ceil((options.rate * 2 * 30) / 1000 / STREAM_CONSUMERS));
  const handle = async (e: Entry): Promise<void> => {
    await sleep(randomInt(5, 30), signal);
    const attempt = Number(e.fields.attempt ?? 0);
    const poison = (e.fields.payload ?? '').includes('"poison"');
    const tx = ctx.redis.multi();
    if (poison || Math.random() < options.failRatio) {
      tx.xadd(STREAM.retry, '*', ...flatten({ ...e.fields, attempt: attempt + 1, error: poison ? 'unparsable page' : 'upstream 503', retry_at: Date.now() + options.timing.retryBackoffMs * 2 ** attempt }));
    }
    tx.xack(STREAM.stream, STREAM.group, e.id);
    await tx.exec();
  };
  try {
    while (!signal.aborted) {
      const name = `worker-${slot}-${Date.now().toString(36)}`;
      state.live.add(name);
      const crashAt = Date.now() - Math.log(1 - Math.random()) * options.timing.crashEveryMs;
      let crashed = false;
      while (!signal.aborted && !crashed) {
        try {
          const budget = state.capacity.take(100);
          if (budget === 0) {
            await sleep(options.timing.tickMs, signal);
            continue;
          }
          const reply = await conn.xreadgroup('GROUP', STREAM.group, name, 'COUNT', budget, 'BLOCK', 500, 'STREAMS', STREAM.stream, '>');
          const entries = Array.isArray(reply) && Array.isArray(reply[0]) ? toEntries((reply[0] as unknown[])[1]) : [];
          if (entries.length < budget) state.capacity.refund(budget - entries.length);
          if (Date.now() >= crashAt && entries.length >= 2) {
            const kept = entries.slice(0, Math.floor(entries.length / 2));
            await eachLimited(kept, lanes, handle);
            ctx.log.info({ consumer: name, abandoned: entries.length - kept.length }, 'demo: stream consumer crashed, leaving entries pending');
            crashed = true;
            break;
          }
          await eachLimited(entries, lanes, handle);
        } catch (err) {
          if ((err as Error).message?.startsWith('NOGROUP')) await ensureGroup(ctx.redis).catch(() => undefined);
          warn(err, 'demo: stream consumer failed');
          await sleep(1000, signal);
        }
      }
      state.live.delete(name);
      if (crashed) await sleep(options.timing.restartAfterMs, signal);
    }
  } finally {
    conn.disconnect();
  }
}

/** One pass of the retry worker (see the module comment). Exported for tests. */
export async function retryWorkerPass(ctx: FlowContext, state: StreamState): Promise<void> {
  const { redis, options } = ctx;
  const now = Date.now();
  state.live.add(STREAM.janitor);
  let redriven = 0;

  // 1. Entries abandoned by crashed consumers: claim, then hand to the retry stream.
  let cursor = '0-0';
  for (let round = 0; round < 10; round++) {
    const reply = (await redis.xautoclaim(STREAM.stream, STREAM.group, STREAM.janitor, options.timing.claimIdleMs, cursor, 'COUNT', 200)) as unknown[];
    const claimed = toEntries(reply[1]);
    if (claimed.length > 0) {
      const tx = redis.multi();
      for (const e of claimed) {
        tx.xadd(STREAM.retry, '*', ...flatten({ ...e.fields, attempt: Number(e.fields.attempt ?? 0) + 1, error: 'consumer crashed', retry_at: now + options.timing.retryBackoffMs }));
        tx.xack(STREAM.stream, STREAM.group, e.id);
      }
      await tx.exec();
    }
    cursor = String(reply[0] ?? '0-0');
    if (cursor === '0-0') break;
  }

  // 2. Due retries: back into the work stream, or into the DLQ after MAX_ATTEMPTS.
  const due = toEntries(await redis.xrange(STREAM.retry, '-', '+', 'COUNT', 1000)).filter((e) => Number(e.fields.retry_at ?? 0) <= now);
  if (due.length > 0) {
    const tx = redis.multi();
    for (const e of due) {
      const { retry_at: _retryAt, ...fields } = e.fields;
      if (Number(fields.attempt ?? 0) >= MAX_ATTEMPTS) tx.xadd(STREAM.dead, 'MAXLEN', '~', DLQ_MAXLEN, '*', ...flatten({ ...fields, dead_at: Math.floor(now / 1000) }));
      else tx.xadd(STREAM.stream, 'MAXLEN', '~', options.keep, '*', ...flatten(fields));
      tx.xdel(STREAM.retry, e.id);
    }
    await tx.exec();
    redriven += due.length;
  }

  // 3. Consumers that crashed and have nothing pending any more leave the group after a while
  //    (until then the boards show them idle, as an operator would see them).
  const consumers = (await redis.xinfo('CONSUMERS', STREAM.stream, STREAM.group)) as unknown[];
  for (const c of consumers) {
    if (!Array.isArray(c)) continue;
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < c.length; i += 2) info[String(c[i])] = c[i + 1];
    const name = String(info.name);
    if (!state.live.has(name) && Number(info.pending) === 0 && Number(info.idle) > options.timing.reapAfterMs) {
      await redis.xgroup('DELCONSUMER', STREAM.stream, STREAM.group, name);
    }
  }

  const p = redis.pipeline().set(STREAM.retryHeartbeat, Math.floor(now / 1000));
  if (redriven > 0) p.incrby(STREAM.retryTotal, redriven);
  await p.exec();
}

/** Runs the retry worker every second until the signal aborts. */
export async function runRetryWorker(ctx: FlowContext, state: StreamState): Promise<void> {
  const warn = throttledWarn((o, m) => ctx.log.warn(o, m));
  while (!ctx.signal.aborted) {
    try {
      await retryWorkerPass(ctx, state);
    } catch (err) {
      if ((err as Error).message?.startsWith('NOGROUP')) await ensureGroup(ctx.redis).catch(() => undefined);
      warn(err, 'demo: retry worker pass failed');
    }
    await sleep(Math.min(1000, ctx.options.timing.claimIdleMs / 2), ctx.signal);
  }
}
