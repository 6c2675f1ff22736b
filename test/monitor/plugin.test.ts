/**
 * The monitor routes through Fastify's inject, over a runtime whose engine
 * hands out collections built by hand: response serialisation keeps every
 * field and type, 404s, language negotiation, escaping and the page's CSP.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectionBuilder, type Collection } from '../../src/collect/collection.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { pickLanguage } from '../../src/monitor/i18n.js';
import { escapeHtml, jsonForScript, safeHttpUrl } from '../../src/monitor/page.js';
import { monitorPlugin, type MonitorRuntime } from '../../src/monitor/plugin.js';

function config(ui: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    discover: [],
    ui,
    mysql: { url: 'mysql://u:p@127.0.0.1:3306/' },
    components: [{ name: 'simulator', heartbeat: 'simulator:heartbeat', total: 'simulator:written:total' }],
  });
}

function collection(at: number, total: number): Collection {
  const b = new CollectionBuilder(at);
  const s = b.sink('components');
  s.add('queue_component_up', { component: 'simulator' }, 1);
  s.add('queue_component_heartbeat_timestamp_seconds', { component: 'simulator' }, at / 1000 - 2);
  s.add('queue_component_heartbeat_age_seconds', { component: 'simulator' }, 2);
  s.add('queue_component_items_total', { component: 'simulator' }, total);
  const st = b.sink('stream');
  st.add('queue_info', { queue: 'task_stream', framework: 'stream', key: 'task_stream' }, 1);
  st.add('queue_tasks', { queue: 'task_stream', framework: 'stream', state: 'waiting', group: 'g1' }, 6);
  st.add('queue_tasks', { queue: '<img src=x onerror=alert(1)>', framework: 'list', state: 'waiting' }, 1);
  st.add('queue_window_tasks', { queue: 'task_stream', framework: 'stream', window: '1m' }, 60);
  const m = b.sink('mysql');
  m.declare('mysql_up', 'gauge', 'up');
  m.add('mysql_up', {}, 0);
  b.add('redis_up', {}, 1);
  return b.finish();
}

/** A runtime whose engine returns pre-built collections in order, counting calls. */
function fakeRuntime(cfg: Config, collections: Collection[]): MonitorRuntime & { calls: number } {
  let latest: Collection | undefined;
  const rt = {
    config: cfg,
    calls: 0,
    engine: {
      get latest() {
        return latest;
      },
      async collect() {
        rt.calls++;
        latest = collections.shift() ?? latest;
        if (!latest) throw new Error('no collection left');
        return latest;
      },
    },
  };
  return rt;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function build(rt: MonitorRuntime): Promise<FastifyInstance> {
  app = Fastify();
  await app.register(monitorPlugin, { runtime: () => rt, reuseForMs: 0 });
  return app;
}

describe('GET /api/monitor', () => {
  it('serialises every documented field with its JSON type', async () => {
    const now = Date.now();
    const rt = fakeRuntime(config(), [collection(now - 2000, 100), collection(now, 700)]);
    const a = await build(rt);
    const first = (await a.inject('/api/monitor')).json();
    expect(first.components.simulator.ratePerSecond).toBeNull();
    const res = await a.inject('/api/monitor');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body.components.simulator).toEqual({
      status: 'running', lastHeartbeat: now / 1000 - 2, heartbeatAgeSeconds: 2, staleAfterSeconds: 30, total: 700,
      ratePerSecond: 300, ratePerMinute: 18000, lastDurationMs: null, avgDurationMs: null,
    });
    expect(body.queues.task_stream).toEqual({
      name: 'task_stream', framework: 'stream', waiting: 6, active: null, scheduled: null, retry: null, dead: null, completed: null,
      processed: null, failed: null, enqueued: null, oldestTaskAgeSeconds: null, windows: { '1m': 60 }, ratePerSecond: null,
      ratePerMinute: null, paused: null, groups: { g1: { waiting: 6, active: null, oldestTaskAgeSeconds: null } },
    });
    expect(body.mysql).toEqual({ up: false, threadsConnected: null, connections: null, maxConnections: null, slowQueries: null, threadsRunning: null });
    expect(body.redis).toEqual({ up: true });
    expect(body.generatedAt).toBe(new Date(now).toISOString());
  });

  it('GET /api/monitor/:component answers one component, 404 for an unknown one without collecting', async () => {
    const rt = fakeRuntime(config(), [collection(Date.now(), 5)]);
    const a = await build(rt);
    const res = await a.inject('/api/monitor/simulator');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'running', total: 5, heartbeatAgeSeconds: 2 });
    const calls = rt.calls;
    const missing = await a.inject('/api/monitor/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'unknown component "nope"' });
    expect(rt.calls).toBe(calls);
  });

  it('answers from a collection younger than reuseForMs instead of collecting again', async () => {
    const rt = fakeRuntime(config(), [collection(Date.now(), 5), collection(Date.now(), 6)]);
    app = Fastify();
    await app.register(monitorPlugin, { runtime: () => rt, reuseForMs: 60_000 });
    expect((await app.inject('/api/monitor')).json().components.simulator.total).toBe(5);
    expect((await app.inject('/api/monitor')).json().components.simulator.total).toBe(5);
    expect(rt.calls).toBe(1);
  });
});

describe('GET /', () => {
  it('is Chinese by default, self-contained, with a nonce CSP and a /metrics link', async () => {
    const a = await build(fakeRuntime(config(), []));
    const res = await a.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = res.body;
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('当前状态');
    expect(html).toContain('<a href="metrics">');
    expect(html).not.toContain('id="grafana-link"');
    // no external asset: no src= / stylesheet link anywhere
    expect(html).not.toMatch(/\ssrc=/);
    expect(html).not.toMatch(/rel="stylesheet"/);
    const csp = String(res.headers['content-security-policy']);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain(`<style nonce="${nonce}">`);
    // a fresh nonce per response
    const again = await a.inject('/');
    expect(again.headers['content-security-policy']).not.toBe(csp);
  });

  it('is English when Accept-Language prefers it, and ?lang= overrides', async () => {
    const a = await build(fakeRuntime(config(), []));
    const en = await a.inject({ url: '/', headers: { 'accept-language': 'en-US,en;q=0.9,zh-CN;q=0.8' } });
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('Last update');
    expect(en.body).not.toContain('当前状态');
    expect(en.headers.vary).toContain('Accept-Language');
    const zh = await a.inject({ url: '/?lang=zh', headers: { 'accept-language': 'en' } });
    expect(zh.body).toContain('<html lang="zh-CN">');
  });

  it('links Grafana when configured, escaped, and never a javascript: URL', async () => {
    const a = await build(fakeRuntime(config({ grafanaUrl: 'https://grafana.example/d/qs?orgId=1&x="><b>' }), []));
    const html = (await a.inject('/')).body;
    expect(html).toContain('href="https://grafana.example/d/qs?orgId=1&#38;x=%22%3E%3Cb%3E"');
    expect(html).not.toContain('"><b>');
    await app!.close();
    const b = await build(fakeRuntime(config({ grafanaUrl: 'javascript:alert(1)' }), []));
    expect((await b.inject('/')).body).not.toContain('javascript:');
  });
});

describe('page helpers', () => {
  it('pickLanguage follows q-values and defaults to Chinese', () => {
    expect(pickLanguage(undefined)).toBe('zh');
    expect(pickLanguage('')).toBe('zh');
    expect(pickLanguage('fr-FR,de;q=0.8')).toBe('zh');
    expect(pickLanguage('en-GB')).toBe('en');
    expect(pickLanguage('zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh');
    expect(pickLanguage('zh;q=0.5,en;q=0.9')).toBe('en');
    expect(pickLanguage('fr,en;q=0.2')).toBe('en');
    expect(pickLanguage('en;q=0,zh-TW')).toBe('zh');
    expect(pickLanguage('zh', 'en')).toBe('en');
    expect(pickLanguage('en', 'xx')).toBe('en');
  });

  it('escapes HTML and JSON for a script block', () => {
    expect(escapeHtml(`<a href="x">'&`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;');
    const json = jsonForScript({ s: '</script><script>alert(1)</script>\u2028' });
    expect(json).not.toContain('<');
    expect(JSON.parse(json)).toEqual({ s: '</script><script>alert(1)</script>\u2028' });
  });

  it('safeHttpUrl accepts http(s) only', () => {
    expect(safeHttpUrl('')).toBeUndefined();
    expect(safeHttpUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeHttpUrl('grafana.local/d/x')).toBeUndefined();
    expect(safeHttpUrl(' http://grafana:3000/d/x ')).toBe('http://grafana:3000/d/x');
  });
});
