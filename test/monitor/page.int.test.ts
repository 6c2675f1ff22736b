/**
 * The status page in real headless Chromium (Debian's, driven by
 * playwright-core; never a downloaded browser) against the whole app on a
 * real redis-server and MariaDB, with a small workload writing heartbeats and
 * counters the way the team's producer and consumer do.
 *
 * Screenshots for review go to test-artifacts/ (git-ignored):
 * status-page.png (desktop, Chinese), status-page-mobile.png,
 * status-page-en.png, status-page-redis-down.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { findBinary } from '../helpers/binaries.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** A queue whose name (its Redis key) is an XSS attempt: it must show as text. */
const HOSTILE = 'queue:<img src=x onerror="window.__xss=1">';
/** Longest wait for the page to show a change: one 3 s refresh, a collection, slack for a busy 2-core machine. */
const PAGE_WAIT_MS = 12_000;

let redis: RedisServer | undefined;
let mariadb: MariadbServer | undefined;
let app: FastifyInstance | undefined;
let browser: Browser | undefined;
let base = '';
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

/** The workload: producer and consumer ticking every 200 ms; `consumer` false stops the consumer. */
const workload = { running: true, consumer: true, timer: undefined as NodeJS.Timeout | undefined };
async function tick(): Promise<void> {
  const r = redis!.client;
  const nowS = Math.floor(Date.now() / 1000);
  const id = `task_${Date.now()}`;
  const m = r.multi();
  m.set('simulator:heartbeat', String(nowS)).incrby('simulator:written:total', 60);
  m.hset('task:details', id, JSON.stringify({ created_at: nowS })).rpush('task:queue', id).zadd('task:timeline', nowS, id);
  if (workload.consumer) {
    m.set('consumer:heartbeat', String(Date.now())).incrby('consumer:processed:total', 58).set('consumer:last_duration', '35');
    m.lpush('consumer:durations', '33').ltrim('consumer:durations', 0, 19).lpop('task:queue').sadd('task:done', `done_${Date.now()}`);
  }
  await m.exec();
}
function startWorkload(): void {
  workload.running = true;
  const loop = (): void => {
    if (!workload.running) return;
    tick()
      .catch(() => undefined) // Redis killed on purpose in the last test
      .finally(() => {
        if (workload.running) workload.timer = setTimeout(loop, 200);
      });
  };
  loop();
}
function stopWorkload(): void {
  workload.running = false;
  if (workload.timer) clearTimeout(workload.timer);
}

async function seed(): Promise<void> {
  const r = redis!.client;
  await r.flushall();
  const nowS = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 40; i++) {
    const id = `seed_${i}`;
    await r.hset('task:details', id, JSON.stringify({ created_at: nowS - 40 + i }));
    await r.zadd('task:timeline', nowS - 40 + i, id);
    await r.rpush('task:queue', id);
  }
  await r.sadd('task:failed', 'f1', 'f2');
  await r.set('simulator:written:total', '452000');
  await r.set('consumer:processed:total', '448888');
  await r.set('retry_worker:heartbeat', String(nowS - 300));
  await r.rpush(HOSTILE, 'a', 'b');
  for (let i = 0; i < 12; i++) await r.xadd('task_stream', '*', 'task', String(i));
  await r.xgroup('CREATE', 'task_stream', 'scheduler_group', '0');
  await r.xgroup('CREATE', 'task_stream', 'audit', '0');
  await r.xreadgroup('GROUP', 'scheduler_group', 'c1', 'COUNT', 5, 'STREAMS', 'task_stream', '>');
}

async function newPage(options: { locale: string; viewport?: { width: number; height: number }; isMobile?: boolean }, url = base): Promise<Page> {
  const context = await browser!.newContext({
    locale: options.locale,
    viewport: options.viewport ?? { width: 1100, height: 760 },
    isMobile: options.isMobile ?? false,
    deviceScaleFactor: options.isMobile ? 2 : 1,
  });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
  });
  await page.goto(url);
  return page;
}

/** Text of the cell `cls` in the status row of `component`. */
function cellText(page: Page, component: string, cls: string): Promise<string> {
  return page.locator(`tr[data-component="${component}"] td.${cls}`).innerText();
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const executablePath = findBinary('chromium', 'chromium');
  [redis, mariadb] = await Promise.all([startRedis(), startMariadb()]);
  await seed();
  const config = configSchema.parse({
    logLevel: 'silent',
    listen: '127.0.0.1:0',
    ui: { grafanaUrl: 'http://grafana.example:3000/d/queuescope/queuescope' },
    redis: { url: redis.url, connectTimeout: '500ms', commandTimeout: '1s' },
    mysql: { url: mariadb.url, timeout: '1s', processlist: false },
    scrape: { timeout: '2s' },
    discover: [],
    queues: [
      { name: 'exam-tasks', type: 'list', key: 'task:queue', details: 'task:details', done: 'task:done', failed: 'task:failed', timeline: 'task:timeline', windows: ['1m', '10m'] },
      { name: 'task_stream', type: 'stream', key: 'task_stream' },
    ],
    components: [
      { name: 'simulator', heartbeat: 'simulator:heartbeat', staleAfter: '30s', total: 'simulator:written:total' },
      { name: 'consumer', heartbeat: 'consumer:heartbeat', staleAfter: '30s', total: 'consumer:processed:total', lastDuration: 'consumer:last_duration', durations: 'consumer:durations' },
      { name: 'retry_worker', heartbeat: 'retry_worker:heartbeat', staleAfter: '30s' },
      { name: 'reporter', heartbeat: 'reporter:heartbeat', staleAfter: '30s' },
    ],
  });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('app did not listen on a TCP port');
  base = `http://127.0.0.1:${address.port}/`;
  startWorkload();
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
});

afterAll(async () => {
  stopWorkload();
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await app?.close().catch(() => undefined);
  await Promise.allSettled([redis?.stop(), mariadb?.stop()]);
});

describe('status page in Chromium', () => {
  it('shows the components, backlog, MySQL and queues with live totals and rates (Chinese by default)', async () => {
    const page = await newPage({ locale: 'zh-CN' });
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await page.waitForSelector('tr[data-component="simulator"][data-status="running"]', { timeout: PAGE_WAIT_MS });

    expect(await cellText(page, 'simulator', 'status')).toBe('🟢 运行中');
    expect(await cellText(page, 'consumer', 'status')).toBe('🟢 运行中');
    expect(await cellText(page, 'retry_worker', 'status')).toBe('🔴 停止');
    expect(await cellText(page, 'reporter', 'status')).toBe('⚪ 未知');
    expect(await cellText(page, 'simulator', 'age')).toMatch(/^\d+ 秒前$/);
    expect(await cellText(page, 'retry_worker', 'age')).toMatch(/^[56] 分钟前$/);
    expect(await cellText(page, 'reporter', 'age')).toBe('—');
    const total = Number((await cellText(page, 'simulator', 'total')).replace(/\D/g, ''));
    expect(total).toBeGreaterThanOrEqual(452000);
    expect(total).toBeLessThanOrEqual(Number(await redis!.client.get('simulator:written:total')));

    // Rates appear once the sidecar has two samples; the workload keeps totals moving.
    await page.waitForFunction(() => /条\/秒/.test(document.querySelector('tr[data-component="simulator"] td.rate')?.textContent ?? ''), null, { timeout: PAGE_WAIT_MS });
    const rate = await cellText(page, 'simulator', 'rate');
    expect(Number(rate.replace(/[^\d.]/g, ''))).toBeGreaterThan(0);
    expect(await cellText(page, 'consumer', 'rate')).toMatch(/条\/秒 · 3\dms\/条$/);

    // The totals are live: the simulator's total grows on screen.
    await page.waitForFunction(
      (before) => Number((document.querySelector('tr[data-component="simulator"] td.total')?.textContent ?? '').replace(/\D/g, '')) > before,
      total,
      { timeout: PAGE_WAIT_MS },
    );

    const backlog = await page.locator('tr[data-row="backlog"] td.total').innerText();
    expect(Number(backlog.replace(/\D/g, ''))).toBeGreaterThan(0);
    await page.waitForSelector('tr[data-row="mysql"][data-status="running"]', { timeout: PAGE_WAIT_MS });
    expect(await page.locator('tr[data-row="mysql"] td.total').innerText()).toMatch(/^\d+ \/ 60$/);

    const exam = page.locator('tr[data-queue="exam-tasks"]');
    expect(await exam.locator('td.framework').innerText()).toBe('list');
    expect(await exam.locator('td.failed').innerText()).toBe('2');
    // stream with two groups: one row per group under the queue (waiting = lag)
    expect(await page.locator('tr[data-queue="task_stream"] td.waiting').innerText()).toBe('19');
    expect(await page.locator('tr.group[data-group="scheduler_group"] td.active').innerText()).toBe('5');
    expect(await page.locator('tr.group[data-group="audit"] td.waiting').innerText()).toBe('12');

    expect(await page.getAttribute('a[href="metrics"]', 'href')).toBe('metrics');
    expect(await page.getAttribute('#grafana-link', 'href')).toBe('http://grafana.example:3000/d/queuescope/queuescope');
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('turns a consumer 🔴 when its heartbeat goes stale, and 🟢 again when it resumes', async () => {
    const page = await newPage({ locale: 'zh-CN' });
    await page.waitForSelector('tr[data-component="consumer"][data-status="running"]', { timeout: PAGE_WAIT_MS });
    workload.consumer = false;
    // The consumer stopped 31 s ago, past its 30 s staleAfter.
    await redis!.client.set('consumer:heartbeat', String(Date.now() - 31_000));
    try {
      await page.waitForSelector('tr[data-component="consumer"][data-status="stopped"]', { timeout: PAGE_WAIT_MS });
      expect(await cellText(page, 'consumer', 'status')).toBe('🔴 停止');
      expect(await cellText(page, 'consumer', 'age')).toMatch(/^(3\d) 秒前$/);
      expect(await cellText(page, 'simulator', 'status')).toBe('🟢 运行中');
    } finally {
      workload.consumer = true;
    }
    await page.waitForSelector('tr[data-component="consumer"][data-status="running"]', { timeout: PAGE_WAIT_MS });
    expect(await cellText(page, 'consumer', 'status')).toBe('🟢 运行中');
  });

  it('shows a queue named like HTML as text, without running it', async () => {
    // Its own app on the same Redis, so the hostile name stays out of the other screenshots.
    const hostile = await buildApp(
      configSchema.parse({ logLevel: 'silent', redis: { url: redis!.url }, discover: [], queues: [{ type: 'list', key: HOSTILE }] }),
      { log: pino({ level: 'silent' }) },
    );
    let closed = false;
    try {
      await hostile.listen({ host: '127.0.0.1', port: 0 });
      const address = hostile.server.address();
      if (!address || typeof address === 'string') throw new Error('app did not listen on a TCP port');
      const page = await newPage({ locale: 'zh-CN' }, `http://127.0.0.1:${address.port}/`);
      await page.waitForSelector('body[data-redis="up"] tr[data-queue^="queue:"]', { timeout: PAGE_WAIT_MS });
      const row = page.locator('tr.queue');
      expect(await row.count()).toBe(1);
      expect(await row.getAttribute('data-queue')).toBe(HOSTILE);
      expect(await row.locator('td.name').innerText()).toBe(HOSTILE);
      expect(await row.locator('td.waiting').innerText()).toBe('2');
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

      // The sidecar itself going away is said too, and the last data is kept (dimmed).
      await hostile.close();
      closed = true;
      await page.waitForSelector('body.stale #qs-alert:not([hidden])', { timeout: PAGE_WAIT_MS });
      expect(await page.locator('#qs-alert').innerText()).toMatch(/^无法从 queuescope 获取数据（.+），页面会自动重试。$/);
      expect(await page.locator('tr.queue td.waiting').innerText()).toBe('2');
    } finally {
      if (!closed) await hostile.close();
    }
  });

  it('is English when the browser prefers English', async () => {
    const page = await newPage({ locale: 'en-US' });
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.waitForSelector('tr[data-component="simulator"][data-status="running"]', { timeout: PAGE_WAIT_MS });
    expect(await page.locator('#status-heading').innerText()).toBe('Status');
    expect(await cellText(page, 'simulator', 'status')).toBe('🟢 running');
    expect(await cellText(page, 'retry_worker', 'status')).toBe('🔴 stopped');
    expect(await cellText(page, 'simulator', 'age')).toMatch(/^\d+ s ago$/);
    expect(await page.locator('tr[data-row="backlog"] td.name').innerText()).toBe('Redis backlog');
    await page.screenshot({ path: join(ARTIFACTS, 'status-page-en.png'), fullPage: true });
  });

  it('is readable on a phone: no sideways scrolling, each row a labelled card', async () => {
    const page = await newPage({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true });
    await page.waitForSelector('tr[data-component="simulator"][data-status="running"]', { timeout: PAGE_WAIT_MS });
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      width: window.innerWidth,
      theadHeight: document.querySelector('#status-table thead')!.getBoundingClientRect().height,
      label: getComputedStyle(document.querySelector('tr[data-component="simulator"] td.status')!, '::before').content,
    }));
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.width);
    expect(layout.theadHeight).toBeLessThanOrEqual(1);
    expect(layout.label).toBe('"当前状态"');
    await page.screenshot({ path: join(ARTIFACTS, 'status-page-mobile.png'), fullPage: true });
  });

  it('says clearly that Redis is down, and recovers when it is back', async () => {
    const page = await newPage({ locale: 'zh-CN' });
    await page.waitForSelector('body[data-redis="up"]', { timeout: PAGE_WAIT_MS });
    stopWorkload();
    await redis!.kill();
    try {
      await page.waitForSelector('body[data-redis="down"]', { timeout: PAGE_WAIT_MS });
      const alert = page.locator('#qs-alert');
      expect(await alert.isVisible()).toBe(true);
      expect(await alert.innerText()).toContain('无法连接 Redis');
      expect(await cellText(page, 'simulator', 'status')).toBe('⚪ 未知');
      expect(await page.locator('tr[data-row="backlog"] td.status').innerText()).toBe('🔴 无法连接');
      await page.screenshot({ path: join(ARTIFACTS, 'status-page-redis-down.png'), fullPage: true });
    } finally {
      await redis!.restart();
    }
    await seed();
    startWorkload();
    await page.waitForSelector('body[data-redis="up"]', { timeout: PAGE_WAIT_MS });
    expect(await page.locator('#qs-alert').isHidden()).toBe(true);
    await page.waitForSelector('tr[data-component="simulator"][data-status="running"]', { timeout: PAGE_WAIT_MS });
  });
});
