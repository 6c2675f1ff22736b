/**
 * The task view in real headless Chromium (Debian's, through playwright-core)
 * against the whole app on a real redis-server: from the status page's queue
 * table to a real BullMQ failed job's error message; a stuck asynq task
 * found by tab, filter and id search; hostile payloads (script tags, bidi
 * controls, a 1 MB value) shown as inert, cut text; a phone-width layout;
 * Chinese by default and English by Accept-Language.
 *
 * Screenshots go to test-artifacts/ (git-ignored): inspect-dead.png,
 * inspect-stuck.png, inspect-mobile.png, inspect-en.png, inspect-hostile.png.
 * README's copies live in docs/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { AsynqWriter, msToNs } from '../fixtures/frameworks/asynq.js';
import { findBinary } from '../helpers/binaries.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 12_000;
const BIDI = 'invoice\u202Egpj.exe\u202C \u2066admin\u2069';
const SCRIPT = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';

let redis: RedisServer;
let app: FastifyInstance;
let browser: Browser;
let base = '';
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
const closers: (() => Promise<unknown>)[] = [];

async function newPage(locale: string, url: string, viewport = { width: 1280, height: 800 }, isMobile = false): Promise<Page> {
  const context = await browser.newContext({ locale, viewport, isMobile, deviceScaleFactor: isMobile ? 2 : 1 });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
  });
  await page.goto(url);
  return page;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  redis = await startRedis();
  const r = redis.client;
  const connection = { host: '127.0.0.1', port: redis.port };
  // A real BullMQ failure: the worker's processor throws.
  const notify = new Queue('exam-notify', { connection });
  closers.push(() => notify.close());
  for (let i = 0; i < 3; i++) await notify.add('notify', { candidate: 10_000 + i, exam: 3 }, { attempts: 1 });
  let n = 0;
  const worker = new Worker(
    'exam-notify',
    async () => {
      n++;
      throw new Error(n === 1 ? 'candidate has no contact address' : 'SMS gateway rate limited (HTTP 429)');
    },
    { connection },
  );
  await new Promise<void>((resolve) => worker.on('failed', () => n >= 3 && resolve()));
  await worker.close();
  await notify.add('notify', { candidate: 20_001, exam: 4 });

  const now = Date.now();
  const asynq = new AsynqWriter(r, 'critical');
  for (let i = 0; i < 3; i++) await asynq.enqueue(`task-${i}`, msToNs(now - 120_000 + i * 1000));
  await asynq.dequeue(Math.floor(now / 1000) - 300); // lease long expired: stuck
  await asynq.dequeue(Math.floor(now / 1000));

  await r.hset('hostile:details', 'h1', JSON.stringify({ created_at: Math.floor(now / 1000) - 5, type: SCRIPT, note: SCRIPT }));
  await r.hset('hostile:details', 'h2', JSON.stringify({ created_at: Math.floor(now / 1000) - 4, type: BIDI, error: BIDI }));
  await r.hset('hostile:details', 'h3', JSON.stringify({ created_at: Math.floor(now / 1000) - 3, blob: 'x'.repeat(1024 * 1024) }));
  await r.rpush('hostile:queue', 'h1', 'h2', 'h3');

  const config = configSchema.parse({
    logLevel: 'silent',
    listen: '127.0.0.1:0',
    redis: { url: redis.url },
    scrape: { timeout: '3s' },
    discover: [{ framework: 'asynq' }, { framework: 'bullmq' }],
    queues: [{ name: 'hostile', type: 'list', key: 'hostile:queue', details: 'hostile:details' }],
  });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('app did not listen on a TCP port');
  base = `http://127.0.0.1:${address.port}/`;
  browser = await chromium.launch({ executablePath: findBinary('chromium', 'chromium'), args: CHROMIUM_ARGS, headless: true });
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await app?.close().catch(() => undefined);
  for (const c of closers) await c().catch(() => undefined);
  await redis?.stop();
});

describe('task view in Chromium', () => {
  it('goes from the status page to the dead BullMQ jobs and their error messages (Chinese by default)', async () => {
    const page = await newPage('zh-CN', base);
    const link = page.locator('tr[data-queue="exam-notify"] td.name a');
    await link.waitFor({ timeout: WAIT_MS });
    expect(await link.getAttribute('href')).toBe('queues/exam-notify?framework=bullmq');
    await link.click();
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
    expect(new URL(page.url()).pathname).toBe('/queues/exam-notify');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    // The dead tab opens first: that is what an alert about dead letters is about.
    expect(await page.locator('button.tab[aria-selected="true"]').innerText()).toBe('死信 3');
    const dead = page.locator('section[data-state="dead"]:not([hidden]) tr.task');
    expect(await dead.count()).toBe(3);
    const errors = await dead.locator('td.error').allInnerTexts();
    expect(errors).toContain('candidate has no contact address');
    expect(errors.filter((e) => e === 'SMS gateway rate limited (HTTP 429)')).toHaveLength(2);
    expect(await dead.first().locator('td.name').innerText()).toBe('notify');
    expect(await dead.first().locator('td.payload pre').innerText()).toMatch(/^\{"candidate":1000\d,"exam":3\}$/);
    await page.screenshot({ path: join(ARTIFACTS, 'inspect-dead.png'), fullPage: true });
    // Filter: only the rows containing the text stay.
    await page.fill('#qs-filter', 'contact address');
    expect(await page.locator('section[data-state="dead"] tr.task:not([hidden])').count()).toBe(1);
    await page.fill('#qs-filter', '');
    expect(await page.locator('section[data-state="dead"] tr.task:not([hidden])').count()).toBe(3);
    // The waiting tab has the job added after the worker stopped.
    await page.click('button.tab[data-state="waiting"]');
    expect(await page.locator('section[data-state="waiting"]:not([hidden]) tr.task td.payload pre').innerText()).toBe('{"candidate":20001,"exam":4}');
    expect(pageErrors).toEqual([]);
  });

  it('shows the stuck asynq task, finds it by id and by the filter', async () => {
    const page = await newPage('zh-CN', `${base}queues/critical?framework=asynq`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
    expect(await page.locator('button.tab[aria-selected="true"]').getAttribute('data-state')).toBe('stuck');
    const stuck = page.locator('section[data-state="stuck"] tr.task');
    expect(await stuck.count()).toBe(1);
    expect(await stuck.getAttribute('data-task-id')).toBe('task-0');
    expect(await stuck.locator('td.name').innerText()).toBe('email:deliver');
    expect(await stuck.locator('td.details').innerText()).toMatch(/^租约到期: /);
    // Search by id through the API.
    await page.fill('#qs-id', 'task-0');
    await page.click('#qs-search button');
    await page.waitForSelector('#qs-result tr.task', { timeout: WAIT_MS });
    expect(await page.locator('#qs-result tr.task .badge').innerText()).toBe('卡住');
    await page.fill('#qs-id', 'no-such-task');
    await page.click('#qs-search button');
    await page.waitForSelector('#qs-result .notfound', { timeout: WAIT_MS });
    expect(await page.locator('#qs-result .notfound').innerText()).toBe('没有找到任务 no-such-task');
    // The filter on the active tab: two active tasks, one matches.
    await page.click('button.tab[data-state="active"]');
    await page.fill('#qs-filter', 'task-1');
    expect(await page.locator('section[data-state="active"] tr.task:not([hidden])').count()).toBe(1);
    await page.fill('#qs-filter', '');
    await page.click('button.tab[data-state="stuck"]');
    await page.fill('#qs-id', 'task-0');
    await page.click('#qs-search button');
    await page.waitForSelector('#qs-result tr.task', { timeout: WAIT_MS });
    await page.screenshot({ path: join(ARTIFACTS, 'inspect-stuck.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('shows hostile payloads as inert, escaped, cut text', async () => {
    const page = await newPage('zh-CN', `${base}queues/hostile`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
    const rows = page.locator('section[data-state="waiting"] tr.task');
    expect(await rows.count()).toBe(3);
    // Script and markup stay text: nothing ran, no element was created from them.
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(await rows.nth(0).locator('td.name').innerText()).toBe(SCRIPT);
    expect(await rows.nth(0).locator('td.payload pre').innerText()).toContain('<script>window.__xss=1</script>');
    // Bidi controls are shown as escapes, not applied.
    const bidiName = await rows.nth(1).locator('td.name').innerText();
    expect(bidiName).toBe('invoice\\u202egpj.exe\\u202c \\u2066admin\\u2069');
    expect(await rows.nth(1).locator('td.error').innerText()).toBe(bidiName);
    const html = await page.content();
    expect(html).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    // The 1 MB value: 512 bytes shown, its size said, the page stays small.
    const big = rows.nth(2);
    expect((await big.locator('td.payload pre').innerText()).length).toBeLessThanOrEqual(512);
    expect(await big.locator('td.payload .muted').innerText()).toMatch(/^1048\d{3} 字节（已截断）$/);
    expect(html.length).toBeLessThan(200_000);
    await page.screenshot({ path: join(ARTIFACTS, 'inspect-hostile.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('fits a phone screen', async () => {
    const page = await newPage('zh-CN', `${base}queues/exam-notify?framework=bullmq`, { width: 390, height: 844 }, true);
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const err = page.locator('section[data-state="dead"] tr.task td.error').first();
    expect(await err.isVisible()).toBe(true);
    const box = await err.boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'inspect-mobile.png'), fullPage: true });
  });

  it('speaks English when the browser prefers it', async () => {
    const page = await newPage('en-US', `${base}queues/exam-notify?framework=bullmq`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.locator('button.tab[aria-selected="true"]').innerText()).toBe('Dead 3');
    expect(await page.locator('label').first().innerText()).toContain('Find by task ID');
    await page.screenshot({ path: join(ARTIFACTS, 'inspect-en.png'), fullPage: true });
    // An unknown queue is a 404 page in the same language.
    const res = await page.goto(`${base}queues/missing`);
    expect(res!.status()).toBe(404);
    expect(await page.locator('#qs-message').innerText()).toBe('Unknown queue: missing');
    expect(pageErrors).toEqual([]);
  });
});
