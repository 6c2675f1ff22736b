/**
 * `queuescope demo`: realistic traffic on the layouts the sidecar reads, until
 * stopped. Three flows share one Redis:
 *
 * - the exam-scoring list flow (`exam.ts`): `task:*` keys, heartbeats,
 *   counters, MySQL INSERTs when `--mysql` is given;
 * - the stream flow (`stream.ts`): `task_stream` / `scheduler_group` with
 *   crashes, a retry stream and a dead-letter stream;
 * - the BullMQ flow (`bullmq.ts`): queue `exam-notify` with workers.
 *
 * `examples/demo.yaml` is the sidecar config that reads exactly these keys.
 * Everything the demo writes is bounded (see each flow), so it can run for days.
 */
import { setMaxListeners } from 'node:events';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { redactUrl } from '../config/redact.js';
import { startBullFlow, type BullFlow } from './bullmq.js';
import { runExamConsumer, runExamProducer, type FlowContext } from './exam.js';
import { openScoreStore, type ScoreStore } from './mysql.js';
import { demoOptions, parseDemoArgs, type DemoOptions, type DemoTiming } from './options.js';
import { inBurst } from './pace.js';
import { ensureGroup, runRetryWorker, runStreamConsumer, runStreamProducer, STREAM_CONSUMERS, streamState } from './stream.js';

export { demoOptions, parseDemoArgs, DEMO_USAGE, DEFAULT_TIMING, defaultKeep } from './options.js';
export type { DemoOptions, DemoTiming } from './options.js';
export { EXAM, STREAM, BULL, MYSQL_TABLE } from './keys.js';

/** A running demo. */
export interface RunningDemo {
  /** Stops producers and consumers, waits for in-flight tasks, closes every connection. Idempotent. */
  stop(): Promise<void>;
}

/** Input of {@link startDemo}: `redisUrl` required, the rest defaults as in {@link demoOptions}. */
export type StartDemoOptions = Partial<Omit<DemoOptions, 'timing'>> & {
  redisUrl: string;
  timing?: Partial<DemoTiming>;
  /** Logger; default silent. */
  log?: Logger;
};

/**
 * Starts the demo workload.
 * @throws when Redis does not answer PING within 10 s, or MySQL (when given)
 *   cannot be reached or its table created; nothing is left running then.
 */
export async function startDemo(input: StartDemoOptions): Promise<RunningDemo> {
  const { log: givenLog, ...rest } = input;
  const options = demoOptions(rest);
  const log = givenLog ?? pino({ level: 'silent' });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 5000, lazyConnect: true });
  let lastRedisError = '';
  redis.on('error', (err: Error) => {
    // ioredis reconnects by itself; the flows log their failed commands (throttled).
    lastRedisError = err.message;
  });
  let store: ScoreStore | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref()),
    ]);
    await ensureGroup(redis);
    if (options.mysqlUrl) store = await openScoreStore(options.mysqlUrl, log);
  } catch (err) {
    redis.disconnect();
    await store?.close();
    const reason = lastRedisError && !store ? `${(err as Error).message} (${lastRedisError})` : (err as Error).message;
    throw new Error(`demo could not start against ${redactUrl(options.redisUrl)}: ${reason}`);
  }

  const abort = new AbortController();
  // Every in-flight task sleep listens on this signal; hundreds at once is normal here, not a leak.
  setMaxListeners(0, abort.signal);
  const started = Date.now();
  const schedule = { delayMs: options.timing.burstDelayMs, forMs: options.timing.burstForMs, everyMs: options.timing.burstEveryMs };
  let bursting = false;
  const rateFactor = (): number => {
    const on = options.burst && inBurst(Date.now() - started, schedule);
    if (on !== bursting) {
      bursting = on;
      log.info({ factor: options.burstFactor }, on ? 'demo: burst started, producers speed up' : 'demo: burst over, backlog drains');
    }
    return on ? options.burstFactor : 1;
  };
  const ctx: FlowContext = { redis, options, log, signal: abort.signal, rateFactor };

  const state = streamState(options.rate);
  const loops: Promise<void>[] = [
    runExamProducer(ctx),
    runExamConsumer(ctx, store),
    runStreamProducer(ctx),
    ...Array.from({ length: STREAM_CONSUMERS }, (_, slot) => runStreamConsumer(ctx, slot + 1, state)),
    runRetryWorker(ctx, state),
  ];
  const bull: BullFlow = startBullFlow(ctx);
  log.info({ redis: redactUrl(options.redisUrl), rate: options.rate, failRatio: options.failRatio, burst: options.burst, mysql: Boolean(store) }, 'demo: running');

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        abort.abort();
        await Promise.allSettled(loops);
        await bull.close();
        await store?.close();
        await redis.quit().catch(() => redis.disconnect());
        log.info('demo: stopped');
      })();
      return stopping;
    },
  };
}

/**
 * Entry point of `queuescope demo ARGS`: parses ARGS (see `DEMO_USAGE`), runs
 * until SIGINT / SIGTERM (or `--duration`), stops gracefully.
 * @returns the exit code: 0 after a graceful stop, 2 for bad arguments, 1 when the demo could not start.
 */
export async function runDemoCommand(args: string[]): Promise<number> {
  const parsed = parseDemoArgs(args, process.env);
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`${parsed.message}\nRun "queuescope demo --help" for the options.\n`);
    return 2;
  }
  const log = pino({ level: process.env.QUEUESCOPE_LOG_LEVEL || 'info', base: { service: 'queuescope-demo' } }, pino.destination(2));
  let demo: RunningDemo;
  try {
    demo = await startDemo({ ...parsed.options, log });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'demo: could not start');
    return 1;
  }
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      clearTimeout(timer);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    const timer = parsed.durationMs === undefined ? undefined : setTimeout(done, parsed.durationMs);
  });
  await demo.stop();
  return 0;
}
