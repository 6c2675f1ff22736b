/** A small Fastify app with only the relay (and optional auth), logs captured in memory, plus fake robots. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { NotifyStoreConfig } from '../../src/config/schema.js';
import type { RelayNotifyConfig } from '../../src/relay/relay.js';
import type { OutboxTuning } from '../../src/relay/outbox.js';
import { relayPlugin } from '../../src/relay/plugin.js';
import { startFakeDingtalk, startFakeWecom, type FakeRobot, type FakeRobotOptions } from './fake-robots.js';

export const DING_TOKEN = 'dt0ken5ecretABCDEF0123456789';
export const DING_SECRET = 'SEC5ign1ngSecretXYZ987654321abcdef';
export const WECOM_KEY = '5ecret-wecom-key-0000-1111-2222';

export interface Harness {
  app: FastifyInstance;
  registry: Registry;
  ding: FakeRobot;
  wecom: FakeRobot;
  /** every log line written so far */
  logs(): string;
  /** `queuescope_notifications_total` for one series */
  count(channel: string, target: string, outcome: string): Promise<number>;
  queueLength(channel: string, target: string): Promise<number>;
  /** any metric value of the relay registry (0 when the series is absent) */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** the store config the relay uses (a fresh temporary folder unless given) */
  store: NotifyStoreConfig;
  close(): Promise<void>;
}

export interface HarnessOptions {
  rateLimit?: { count: number; windowMs: number };
  /** robot-side limit; defaults to the relay's */
  robotRateLimit?: { count: number; windowMs: number };
  timeoutMs?: number;
  tuning?: Partial<OutboxTuning>;
  shutdownMs?: number;
  dingTemplate?: string;
  robot?: FakeRobotOptions;
  /** partial `notify.store`; default: a fresh temporary folder, 64 MiB */
  store?: Partial<NotifyStoreConfig>;
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const rateLimit = o.rateLimit ?? { count: 20, windowMs: 60_000 };
  const robotRate = o.robotRateLimit ?? rateLimit;
  const ding = await startFakeDingtalk(DING_TOKEN, { secret: DING_SECRET, rateLimit: robotRate });
  const wecom = await startFakeWecom(WECOM_KEY, { rateLimit: robotRate });
  let template = '';
  if (o.dingTemplate !== undefined) {
    template = join(mkdtempSync(join(tmpdir(), 'qs-tpl-')), 'ding.tmpl');
    writeFileSync(template, o.dingTemplate);
  }
  const store: NotifyStoreConfig = {
    path: mkdtempSync(join(tmpdir(), 'qs-outbox-')),
    redis: '',
    allowMonitoredRedis: false,
    maxBytes: 64 * 1024 * 1024,
    ...o.store,
  };
  const notify: RelayNotifyConfig = {
    dingtalk: {
      ops: { url: ding.url, secret: DING_SECRET, mention: { mobiles: ['13800000000'], userIds: ['user001'], all: false }, template },
    },
    wecom: {
      backend: { url: wecom.url, mention: { mobiles: ['13900000000'], userIds: ['zhangsan'], all: true }, template: '' },
    },
    rateLimit,
    timeout: o.timeoutMs ?? 2000,
    timeZone: 'Asia/Shanghai',
    store,
  };
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const app: FastifyInstance = Fastify({ loggerInstance: pino({ level: 'debug' }, stream) as FastifyBaseLogger });
  const registry = new Registry();
  await app.register(relayPlugin, {
    notify,
    registry,
    tuning: { holdMs: 5000, retryBaseMs: 20, retryMaxMs: 200, ...o.tuning },
    ...(o.shutdownMs !== undefined ? { shutdownMs: o.shutdownMs } : {}),
  });
  await app.ready();
  const metricValue = async (name: string, labels: Record<string, string>): Promise<number> => {
    const m = registry.getSingleMetric(name);
    if (!m) return NaN;
    const got = await m.get();
    const v = got.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
    return v?.value ?? 0;
  };
  let closed = false;
  return {
    app,
    registry,
    ding,
    wecom,
    logs: () => lines.join(''),
    count: (channel, target, outcome) => metricValue('queuescope_notifications_total', { channel, target, outcome }),
    queueLength: (channel, target) => metricValue('queuescope_notification_queue_length', { channel, target }),
    metric: (name, labels = {}) => metricValue(name, labels),
    store,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await ding.close();
      await wecom.close();
    },
  };
}
