/**
 * Options of the demo workload and the parsing of `queuescope demo` arguments.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/durations.js';

/**
 * Timing knobs. The defaults suit a demo watched on Grafana for hours; tests
 * shrink them so crashes, retries and dead letters happen within seconds.
 * All values are milliseconds.
 */
export interface DemoTiming {
  /** Producer and consumer pacing tick. Default 100. */
  tickMs: number;
  /** Mean time between simulated crashes of one stream consumer. Default 90 000. */
  crashEveryMs: number;
  /** How long a crashed stream consumer stays down before it comes back under a new name. Default 5 000. */
  restartAfterMs: number;
  /** Idle time after which the retry worker claims a pending entry (XAUTOCLAIM min-idle-time). Default 20 000. */
  claimIdleMs: number;
  /** Base retry backoff of the stream flow; attempt n waits base × 2^(n-1). Default 2 000. */
  retryBackoffMs: number;
  /** How long a dead consumer (nothing pending) stays in the group before it is deleted. Default 60 000. */
  reapAfterMs: number;
  /** Burst cycle length (only with `burst`). Default 900 000 (15 min). */
  burstEveryMs: number;
  /** Burst length within each cycle. Default 180 000 (3 min), enough to keep the backlog above threshold for more than the alerts' 5m `for`. */
  burstForMs: number;
  /** Quiet time before the first burst, so the boards have a baseline. Default 60 000. */
  burstDelayMs: number;
  /** How long the timeline ZSET keeps entries (ZREMRANGEBYSCORE). Default 3 900 000 (65 min: the 1h window plus margin). */
  timelineWindowMs: number;
}

/** Everything `startDemo` needs. */
export interface DemoOptions {
  /** `redis://` / `rediss://` URL of the Redis the sidecar watches. */
  redisUrl: string;
  /** `mysql://user:pass@host:port/db`; when absent the exam consumer skips the INSERT. Database defaults to `queuescope_demo`. */
  mysqlUrl?: string | undefined;
  /** Tasks per second written to the exam list flow and to the stream; BullMQ gets a fifth (min 1), since each job costs it several round trips. */
  rate: number;
  /** Fraction (0..1) of task attempts that fail; a fifth of that fraction are "poison" tasks that fail every attempt (they end in the DLQ / failed set). */
  failRatio: number;
  /** Periodic producer bursts at `burstFactor` × rate that build a backlog above the demo's alert thresholds. */
  burst: boolean;
  /** Producer rate multiplier during a burst. Default 5 (consumers are capped at 2 × rate, so the backlog grows by 3 × rate per second). */
  burstFactor: number;
  /**
   * How many recent tasks the demo keeps per bounded structure (`task:details`,
   * `task:done`, `task:failed`, stream MAXLEN, MySQL rows). Default
   * max(20 000, rate × 1 200): twenty minutes of tasks, above the largest burst backlog.
   */
  keep: number;
  timing: DemoTiming;
}

/** Default timing (see {@link DemoTiming}). */
export const DEFAULT_TIMING: DemoTiming = {
  tickMs: 100,
  crashEveryMs: 90_000,
  restartAfterMs: 5_000,
  claimIdleMs: 20_000,
  retryBackoffMs: 2_000,
  reapAfterMs: 60_000,
  burstEveryMs: 900_000,
  burstForMs: 180_000,
  burstDelayMs: 60_000,
  timelineWindowMs: 3_900_000,
};

/** Default `keep` for a rate (see {@link DemoOptions.keep}). */
export function defaultKeep(rate: number): number {
  return Math.max(20_000, Math.ceil(rate * 1200));
}

/**
 * Fills in defaults.
 * @param partial at least `redisUrl`; everything else optional.
 */
export function demoOptions(partial: Partial<Omit<DemoOptions, 'timing'>> & { redisUrl: string; timing?: Partial<DemoTiming> }): DemoOptions {
  const rate = partial.rate ?? 50;
  return {
    redisUrl: partial.redisUrl,
    mysqlUrl: partial.mysqlUrl,
    rate,
    failRatio: partial.failRatio ?? 0.03,
    burst: partial.burst ?? false,
    burstFactor: partial.burstFactor ?? 5,
    keep: partial.keep ?? defaultKeep(rate),
    timing: { ...DEFAULT_TIMING, ...partial.timing },
  };
}

/** Result of {@link parseDemoArgs}. */
export type ParsedDemoArgs =
  | { kind: 'run'; options: DemoOptions; durationMs?: number | undefined }
  | { kind: 'help'; text: string }
  | { kind: 'error'; message: string };

export const DEMO_USAGE = `Usage: queuescope demo [options]

Runs the demo workload until SIGINT/SIGTERM: the exam-scoring list flow
(task:queue, task:details, task:timeline, task:done/failed, heartbeats,
counters, MySQL INSERTs), the stream task_stream with group scheduler_group
(crashes, retries, dead letters) and the BullMQ queue exam-notify.

Options:
  --redis URL         Redis to write to (default $QUEUESCOPE_REDIS_URL or redis://127.0.0.1:6379/0)
  --mysql URL         MySQL for the consumer's INSERTs, mysql://user:pass@host:3306/db
                      (default $QUEUESCOPE_MYSQL_URL; without it no INSERTs)
  --rate N            tasks per second per flow (default 50; BullMQ gets N/5)
  --fail-ratio F      fraction of attempts that fail, 0..1 (default 0.03)
  --burst             every 15 minutes, 3 minutes at 5x the rate: builds a backlog so alerts fire
  --keep N            recent tasks kept per bounded key (default max(20000, rate*1200))
  --duration D        stop after D (e.g. 30s, 10m); default: run until stopped
  -h, --help          this text
`;

/**
 * Parses the arguments after `demo`.
 * @param env supplies `QUEUESCOPE_REDIS_URL` / `QUEUESCOPE_MYSQL_URL` defaults (empty counts as unset).
 */
export function parseDemoArgs(args: readonly string[], env: NodeJS.ProcessEnv): ParsedDemoArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        redis: { type: 'string' },
        mysql: { type: 'string' },
        rate: { type: 'string' },
        'fail-ratio': { type: 'string' },
        burst: { type: 'boolean' },
        keep: { type: 'string' },
        duration: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { kind: 'error', message: `queuescope demo: ${(err as Error).message}` };
  }
  if (values.help) return { kind: 'help', text: DEMO_USAGE };

  const redisUrl = values.redis ?? (env.QUEUESCOPE_REDIS_URL || 'redis://127.0.0.1:6379/0');
  if (!/^rediss?:\/\//.test(redisUrl)) return { kind: 'error', message: `queuescope demo: --redis must be a redis:// or rediss:// URL` };
  const mysqlUrl = values.mysql ?? (env.QUEUESCOPE_MYSQL_URL || undefined);
  if (mysqlUrl !== undefined && !/^mysql:\/\//.test(mysqlUrl)) return { kind: 'error', message: `queuescope demo: --mysql must be a mysql:// URL` };

  const rate = values.rate === undefined ? 50 : Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 100_000) return { kind: 'error', message: `queuescope demo: --rate must be a number of tasks per second above 0 (got "${values.rate}")` };
  const failRatio = values['fail-ratio'] === undefined ? 0.03 : Number(values['fail-ratio']);
  if (!Number.isFinite(failRatio) || failRatio < 0 || failRatio > 1) return { kind: 'error', message: `queuescope demo: --fail-ratio must be between 0 and 1 (got "${values['fail-ratio']}")` };
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 100)) return { kind: 'error', message: `queuescope demo: --keep must be an integer of at least 100 (got "${values.keep}")` };
  let durationMs: number | undefined;
  if (values.duration !== undefined) {
    durationMs = parseDuration(values.duration);
    if (durationMs === undefined || durationMs <= 0) return { kind: 'error', message: `queuescope demo: --duration must look like 30s, 10m or 1h (got "${values.duration}")` };
  }
  return {
    kind: 'run',
    durationMs,
    options: demoOptions({ redisUrl, mysqlUrl, rate, failRatio, burst: values.burst ?? false, ...(keep === undefined ? {} : { keep }) }),
  };
}
