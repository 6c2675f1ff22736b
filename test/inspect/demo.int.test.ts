/**
 * Issue 15's "done when", end to end: with the demo workload running and the
 * sidecar on `examples/demo.yaml`, a new user opens `/` in Chromium, clicks a
 * queue and sees its dead tasks with their error messages — the BullMQ
 * queue's failed jobs and the stream's dead-letter entries — and the JSON API
 * returns the same. Screenshot: test-artifacts/inspect-demo-stream.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startDemo, type RunningDemo } from '../../src/demo/index.js';
import type { QueueTasks } from '../../src/inspect/view.js';
import { findBinary } from '../helpers/binaries.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
let redis: RedisServer;
let demo: RunningDemo | undefined;
let app: FastifyInstance;
let browser: Browser;
let base = '';

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  redis = await startRedis();
  // Fast timings so entries reach the dead-letter stream within seconds (3 attempts, short backoff).
  demo = await startDemo({
    redisUrl: redis.url,
    rate: 50,
    failRatio: 0.3,
    keep: 300,
    timing: { crashEveryMs: 1500, restartAfterMs: 300, claimIdleMs: 1000, retryBackoffMs: 100, reapAfterMs: 1500, timelineWindowMs: 3000 },
  });
  const config = await loadConfigFile(join(process.cwd(), 'examples/demo.yaml'), { ...process.env, GRAFANA_URL: 'http://localhost:3000' });
  const cfg = { ...config, logLevel: 'silent' as const, mysql: undefined, redis: { ...config.redis, url: redis.url }, scrape: { ...config.scrape, discoveryInterval: 1000 } };
  app = await buildApp(cfg, { log: pino({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('app did not listen on a TCP port');
  base = `http://127.0.0.1:${address.port}/`;
  browser = await chromium.launch({ executablePath: findBinary('chromium', 'chromium'), args: ['--headless', '--no-sandbox', '--disable-gpu'], headless: true });
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await app?.close().catch(() => undefined);
  await demo?.stop();
  await redis?.stop();
});

describe('the demo, seen by a new user', () => {
  it('has dead tasks with error messages in the BullMQ queue and the stream, in the JSON API', async () => {
    const dead = async (url: string) => ((await app.inject({ url })).json() as QueueTasks).sections.find((s) => s.state === 'dead')?.tasks ?? [];
    await waitFor('dead BullMQ jobs', async () => (await dead('/api/queues/exam-notify/tasks?framework=bullmq&state=dead')).length > 0, 30_000, 200);
    await waitFor('dead-letter stream entries', async () => (await dead('/api/queues/task_stream/tasks?framework=stream&state=dead')).length > 0, 30_000, 200);
    for (const t of await dead('/api/queues/exam-notify/tasks?framework=bullmq&state=dead')) expect(t.error).toMatch(/^(candidate has no contact address|SMS gateway rate limited)$/);
    for (const t of await dead('/api/queues/task_stream/tasks?framework=stream&state=dead')) expect(t.error).toMatch(/^(unparsable page|upstream 503|consumer crashed)$/);
  });

  it('opens / , clicks the stream queue and shows its dead letters with their errors', async () => {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(base);
    const link = page.locator('tr[data-queue="task_stream"] td.name a');
    await link.waitFor({ timeout: 12_000 });
    await link.click();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 12_000 });
    expect(await page.locator('button.tab[aria-selected="true"]').getAttribute('data-state')).toBe('dead');
    const errors = await page.locator('section[data-state="dead"] tr.task td.error').allInnerTexts();
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatch(/^(unparsable page|upstream 503|consumer crashed)$/);
    await page.screenshot({ path: join(ARTIFACTS, 'inspect-demo-stream.png'), fullPage: false });
    await context.close();
  });
});
