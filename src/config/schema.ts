/**
 * The `queuescope.yaml` schema: every key of `shared/spec/config.md`, strict
 * (unknown keys are errors). Durations are parsed into milliseconds; secret
 * fields accept `x` or `xFile` (resolved by the loader, never both).
 *
 * The schema validates shape only; reading `*File` secrets, `${VAR}`
 * interpolation and line numbers for errors live in `load.ts`.
 */
import { z } from 'zod';
import { declareSchemas, discoverSchemas, FRAMEWORKS, type DeclaredConfig, type DiscoverConfig } from '../collect/queues/registry.js';
import { duration } from './fields.js';

export { parseDuration } from './durations.js';
export { duration } from './fields.js';

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

/** A declared queue (`queues:`): one entry schema per framework module that can be declared. */
export const queueSchema = z.discriminatedUnion('type', declareSchemas());

/** A `discover:` entry: one entry schema per framework module that can be discovered. */
export const discoverSchema = z.discriminatedUnion('framework', discoverSchemas());

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
  })
  .superRefine(secretPair('url'))
  .superRefine(urlRequired);

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
export type QueueConfig = DeclaredConfig;
export type { DiscoverConfig };
export type { ListQueueConfig } from '../collect/queues/list.js';
export type { StreamQueueConfig } from '../collect/queues/stream.js';
export type { ZsetQueueConfig } from '../collect/queues/zset.js';
export type ComponentConfig = z.output<typeof componentSchema>;
export type MysqlConfig = z.output<typeof mysqlSchema>;
export type RedisConfig = z.output<typeof redisSchema>;
export type NotifyConfig = z.output<typeof notifySchema>;
export type DingtalkTargetConfig = z.output<typeof dingtalkTargetSchema>;
export type WecomTargetConfig = z.output<typeof wecomTargetSchema>;
export type AuthConfig = z.output<typeof authSchema>;
export type ModuleConfig = z.output<typeof moduleSchema>;
export type LogLevel = z.output<typeof logLevel>;

/** Discovery used when the config has no `discover:` key: every framework module discovered by default, in registry order. */
export const DEFAULT_DISCOVERY: DiscoverConfig[] = FRAMEWORKS.flatMap((f) =>
  f.discover?.byDefault ? [f.discover.schema.parse({ framework: f.name }) as DiscoverConfig] : [],
);
