/**
 * The `queuescope.yaml` schema: every key of `shared/spec/config.md`, strict
 * (unknown keys are errors). Durations are parsed into milliseconds; secret
 * fields accept `x` or `xFile` (resolved by the loader, never both).
 *
 * The schema validates shape only; reading `*File` secrets, `${VAR}`
 * interpolation and line numbers for errors live in `load.ts`.
 */
import { z } from 'zod';

/** Unit multipliers for duration strings, in milliseconds. */
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration string (`500ms`, `30s`, `5m`, `1h`, `1d`) into milliseconds.
 * @returns milliseconds, or `undefined` when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2]!] ?? 0));
}

/** A duration string, parsed to milliseconds. */
export const duration = z
  .string({ error: 'must be a duration string like 500ms, 30s, 5m or 1h' })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid duration "${text}" (use e.g. 500ms, 30s, 5m, 1h)` });
      return z.NEVER;
    }
    return ms;
  });

// The regex alone let ports up to 99999 through; 0 stays allowed (an ephemeral port for `listen`).
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$/, 'must be HOST:PORT, e.g. 127.0.0.1:9640 or [::1]:9640')
  .refine((text) => {
    const port = /:(\d+)$/.exec(text)?.[1];
    return port === undefined || Number(port) <= 65535;
  }, 'port must be at most 65535');

/** Exactly one of `x` / `xFile` may be set; this refinement says so in plain English. */
function secretPair<T extends Record<string, unknown>>(field: string) {
  return (value: T, ctx: z.RefinementCtx) => {
    if (value[field] !== undefined && value[field] !== '' && value[`${field}File`] !== undefined && value[`${field}File`] !== '') {
      ctx.addIssue({ code: 'custom', message: `at most one of ${field} & ${field}File may be set`, path: [`${field}File`] });
    }
  };
}

export const tlsSchema = z
  .strictObject({
    ca: z.string().default(''),
    cert: z.string().default(''),
    key: z.string().default(''),
    servername: z.string().default(''),
    insecureSkipVerify: z.boolean().default(false),
  })
  .prefault({});

export const sentinelSchema = z
  .strictObject({
    masterName: z.string().min(1),
    nodes: z.array(hostPort).min(1, 'needs at least one sentinel node'),
    /** database number on the master (`redis.url`'s `/db`, which cannot be combined with sentinel) */
    db: z.number().int().min(0).default(0),
    password: z.string().optional(),
    passwordFile: z.string().optional(),
    username: z.string().optional(),
  })
  .superRefine(secretPair('password'));

export const clusterSchema = z.strictObject({
  nodes: z.array(hostPort).min(1, 'needs at least one seed node'),
});

export const redisSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .default('redis://127.0.0.1:6379/0'),
    username: z.string().default(''),
    password: z.string().optional(),
    passwordFile: z.string().optional(),
    connectTimeout: duration.default(2000),
    commandTimeout: duration.default(2000),
    tls: tlsSchema,
    sentinel: sentinelSchema.optional(),
    cluster: clusterSchema.optional(),
  })
  .superRefine(secretPair('password'))
  .superRefine((v, ctx) => {
    if (v.sentinel && v.cluster) ctx.addIssue({ code: 'custom', message: 'at most one of sentinel & cluster may be set', path: ['cluster'] });
  })
  .prefault({});

export const mysqlSchema = z
  .strictObject({
    url: z.string().regex(/^mysql:\/\//, 'must start with mysql://'),
    password: z.string().optional(),
    passwordFile: z.string().optional(),
    timeout: duration.default(2000),
    processlist: z.boolean().default(true),
  })
  .superRefine(secretPair('password'));

const windowsSchema = z.array(duration).min(1).default([60_000, 300_000, 600_000, 3_600_000]);

/** Alert thresholds every queue carries (exported as gauges for the rules). */
const thresholds = {
  /** waiting tasks; exported as `queue_backlog_threshold` */
  backlogThreshold: z.number().nonnegative().default(1000),
  /** ms; exported as `queue_latency_threshold_seconds` */
  latencyThreshold: duration.default(300_000),
};

/** An optional key name where config.md documents `""` as the default: `""` means unset. */
const emptyMeansUnset = z
  .string()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const queueCommon = {
  name: z.string().min(1).optional(),
  key: z.string().min(1),
  ...thresholds,
};

export const listQueueSchema = z
  .strictObject({
  ...queueCommon,
  type: z.literal('list'),
  /** which end holds the oldest task: `head` (RPUSH/LPOP, index 0) or `tail` (LPUSH/RPOP, index -1) */
  oldestAt: z.enum(['head', 'tail']).default('head'),
  details: z.string().min(1).optional(),
  /** integer counter of tasks ever enqueued (alternative to HLEN of `details`, which stops growing once trimmed) */
  enqueuedCounter: z.string().min(1).optional(),
  done: z.string().min(1).optional(),
  failed: z.string().min(1).optional(),
  processedCounter: emptyMeansUnset,
  failedCounter: emptyMeansUnset,
  timeline: z.string().min(1).optional(),
  windows: windowsSchema,
})
  .superRefine((v, ctx) => {
    // `done` / `processedCounter` (and `failed` / `failedCounter`) are two ways to say the same count.
    if (v.done && v.processedCounter) ctx.addIssue({ code: 'custom', message: 'at most one of done & processedCounter may be set', path: ['processedCounter'] });
    if (v.failed && v.failedCounter) ctx.addIssue({ code: 'custom', message: 'at most one of failed & failedCounter may be set', path: ['failedCounter'] });
  });

export const streamQueueSchema = z.strictObject({
  ...queueCommon,
  type: z.literal('stream'),
  groups: z.array(z.string().min(1)).default([]),
  retry: z.string().min(1).optional(),
  dead: z.string().min(1).optional(),
  consumers: z.boolean().default(true),
});

export const zsetQueueSchema = z.strictObject({
  ...queueCommon,
  type: z.literal('zset'),
});

export const queueSchema = z.discriminatedUnion('type', [listQueueSchema, streamQueueSchema, zsetQueueSchema], {
  error: 'type must be one of list, stream, zset',
});

const discoverCommon = { ...thresholds };

export const discoverSchema = z.discriminatedUnion(
  'framework',
  [
    z.strictObject({ framework: z.literal('asynq'), ...discoverCommon }),
    z.strictObject({ framework: z.literal('bullmq'), prefix: z.string().min(1).default('bull'), ...discoverCommon }),
    z.strictObject({ framework: z.literal('sidekiq'), namespace: z.string().default(''), ...discoverCommon }),
    z.strictObject({
      framework: z.literal('celery'),
      queues: z.array(z.string().min(1)).default(['celery']),
      prioritySteps: z.array(z.number().int().min(0).max(255)).default([0, 3, 6, 9]),
      ...discoverCommon,
    }),
    z.strictObject({ framework: z.literal('rq'), ...discoverCommon }),
    z.strictObject({
      framework: z.literal('stream'),
      match: z.string().min(1).default('*'),
      consumers: z.boolean().default(true),
      ...discoverCommon,
    }),
    z.strictObject({
      framework: z.literal('list'),
      match: z.string().min(1),
      /** as on declared list queues: `head` for RPUSH/LPOP, `tail` for LPUSH/RPOP */
      oldestAt: z.enum(['head', 'tail']).default('head'),
      ...discoverCommon,
    }),
  ],
  { error: 'framework must be one of asynq, bullmq, sidekiq, celery, rq, stream, list' },
);

export const componentSchema = z.strictObject({
  name: z.string().min(1),
  heartbeat: z.string().min(1),
  staleAfter: duration.default(30_000),
  total: z.string().min(1).optional(),
  lastDuration: z.string().min(1).optional(),
  durations: z.string().min(1).optional(),
});

const mentionSchema = z
  .strictObject({
    mobiles: z.array(z.string()).default([]),
    userIds: z.array(z.string()).default([]),
    all: z.boolean().default(false),
  })
  .prefault({});

const robotUrl = z.string().regex(/^https?:\/\//, 'must be an http(s) URL');

/** The robot URL carries its token, so it is a secret: `url` or `urlFile`, exactly one. */
function urlRequired(value: { url?: string | undefined; urlFile?: string | undefined }, ctx: z.RefinementCtx) {
  if (!value.url && !value.urlFile) ctx.addIssue({ code: 'custom', message: 'one of url & urlFile is required', path: ['url'] });
}

export const dingtalkTargetSchema = z
  .strictObject({
    url: robotUrl.optional(),
    urlFile: z.string().optional(),
    secret: z.string().optional(),
    secretFile: z.string().optional(),
    mention: mentionSchema,
    template: z.string().default(''),
  })
  .superRefine(secretPair('secret'))
  .superRefine(secretPair('url'))
  .superRefine(urlRequired);

export const wecomTargetSchema = z
  .strictObject({
    url: robotUrl.optional(),
    urlFile: z.string().optional(),
    mention: mentionSchema,
    template: z.string().default(''),
    // markdown_v2 renders lists and tables but has no <@userid> mentions (they go in the companion text message)
    msgtype: z.enum(['markdown', 'markdown_v2']).optional(),
  })
  .superRefine(secretPair('url'))
  .superRefine(urlRequired);

/** An http(s) URL users open from a chat message ('' = none); optional so code building configs by hand need not name it. */
const linkUrl = z.union([z.literal(''), z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL')]).optional();

const rateLimit = z
  .string()
  .regex(/^\d+\/(s|sec|m|min|h|hour)$/, 'must look like 20/min')
  .transform((text) => {
    const [count, unit] = text.split('/') as [string, string];
    const windowMs = unit.startsWith('s') ? 1000 : unit.startsWith('m') ? 60_000 : 3_600_000;
    return { count: Number(count), windowMs };
  });

export const notifySchema = z
  .strictObject({
    dingtalk: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'target names use A-Z a-z 0-9 _ -'), dingtalkTargetSchema).default({}),
    wecom: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'target names use A-Z a-z 0-9 _ -'), wecomTargetSchema).default({}),
    rateLimit: rateLimit.default({ count: 20, windowMs: 60_000 }),
    timeout: duration.default(5000),
    timeZone: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'unknown IANA time zone')
      .default('Asia/Shanghai'),
    // chat messages: the built-in template's language, and the links every firing alert carries
    language: z.enum(['zh', 'en']).optional(),
    externalURL: linkUrl,
    dashboardURL: linkUrl,
  })
  .prefault({});

export const authSchema = z
  .strictObject({
    bearerToken: z.string().optional(),
    bearerTokenFile: z.string().optional(),
    basic: z
      .strictObject({
        username: z.string().min(1),
        password: z.string().optional(),
        passwordFile: z.string().optional(),
      })
      .superRefine(secretPair('password'))
      .optional(),
  })
  .superRefine(secretPair('bearerToken'));

export const scrapeSchema = z
  .strictObject({
    timeout: duration.default(5000),
    cacheFor: duration.default(0),
    discoveryInterval: duration.default(60_000),
    scanCount: z.number().int().positive().default(500),
    maxQueues: z.number().int().positive().default(5000),
  })
  .prefault({});

export const moduleSchema = z.strictObject({
  queues: z.array(queueSchema).default([]),
  discover: z.array(discoverSchema).default([]),
  components: z.array(componentSchema).default([]),
  redis: z
    .strictObject({
      username: z.string().default(''),
      password: z.string().optional(),
      passwordFile: z.string().optional(),
      tls: tlsSchema,
    })
    .superRefine(secretPair('password'))
    .prefault({}),
});

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const configSchema = z.strictObject({
  listen: hostPort.default('0.0.0.0:9640'),
  logLevel: logLevel.default('info'),
  ui: z
    .strictObject({
      grafanaUrl: z.string().default(''),
      rateWindow: duration.default(60_000),
    })
    .prefault({}),
  auth: authSchema.optional(),
  scrape: scrapeSchema,
  redis: redisSchema,
  mysql: mysqlSchema.optional(),
  queues: z.array(queueSchema).default([]),
  /** absent = built-in default (every framework); `[]` = no discovery */
  discover: z.array(discoverSchema).optional(),
  components: z.array(componentSchema).default([]),
  modules: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'module names use A-Z a-z 0-9 _ -'), moduleSchema).default({}),
  probe: z.strictObject({ allowTargets: z.array(z.string()).default([]) }).prefault({}),
  notify: notifySchema,
});

/** The validated configuration; durations in milliseconds, secrets resolved. */
export type Config = z.output<typeof configSchema>;
export type QueueConfig = z.output<typeof queueSchema>;
export type ListQueueConfig = z.output<typeof listQueueSchema>;
export type StreamQueueConfig = z.output<typeof streamQueueSchema>;
export type ZsetQueueConfig = z.output<typeof zsetQueueSchema>;
export type DiscoverConfig = z.output<typeof discoverSchema>;
export type ComponentConfig = z.output<typeof componentSchema>;
export type MysqlConfig = z.output<typeof mysqlSchema>;
export type RedisConfig = z.output<typeof redisSchema>;
export type NotifyConfig = z.output<typeof notifySchema>;
export type DingtalkTargetConfig = z.output<typeof dingtalkTargetSchema>;
export type WecomTargetConfig = z.output<typeof wecomTargetSchema>;
export type AuthConfig = z.output<typeof authSchema>;
export type ModuleConfig = z.output<typeof moduleSchema>;
export type LogLevel = z.output<typeof logLevel>;

/** Discovery used when the config has no `discover:` key: every supported framework layout. */
export const DEFAULT_DISCOVERY: DiscoverConfig[] = [
  { framework: 'asynq', backlogThreshold: 1000, latencyThreshold: 300_000 },
  { framework: 'bullmq', prefix: 'bull', backlogThreshold: 1000, latencyThreshold: 300_000 },
  { framework: 'sidekiq', namespace: '', backlogThreshold: 1000, latencyThreshold: 300_000 },
  { framework: 'celery', queues: ['celery'], prioritySteps: [0, 3, 6, 9], backlogThreshold: 1000, latencyThreshold: 300_000 },
  { framework: 'rq', backlogThreshold: 1000, latencyThreshold: 300_000 },
  { framework: 'stream', match: '*', consumers: true, backlogThreshold: 1000, latencyThreshold: 300_000 },
];
