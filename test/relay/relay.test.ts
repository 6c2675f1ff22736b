import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { compactPayload } from '../../src/relay/compact.js';
import { makeAlert, makePayload } from './fixtures.js';
import { DING_SECRET, DING_TOKEN, startHarness, WECOM_KEY, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const post = (app: Harness['app'], path: string, payload: unknown) =>
  app.inject({ method: 'POST', url: path, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });

/** Neither the robot URLs' tokens nor the signing secret appear in `text`. */
function expectNoSecrets(text: string): void {
  for (const s of [DING_TOKEN, DING_SECRET, WECOM_KEY]) expect(text).not.toContain(s);
}

describe('relay: delivery', () => {
  it('DingTalk: a signed markdown message whose text contains the @mentions', async () => {
    h = await startHarness();
    const res = await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'sent' });
    expect(h.ding.refused).toEqual([]);
    expect(h.ding.delivered).toHaveLength(1);
    const msg = h.ding.delivered[0]!;
    expect(msg.query.get('sign')).toBeTruthy(); // verified by the fake robot with openssl
    expect(msg.body.msgtype).toBe('markdown');
    expect((msg.body.markdown as { title: string }).title).toBe('[告警] QueueBacklogHigh · queue-1');
    expect(msg.body.at).toEqual({ atMobiles: ['13800000000'], atUserIds: ['user001'], isAtAll: false });
    expect(msg.text).toContain('队列：queue-1（list）');
    expect(msg.text.endsWith('@13800000000 @user001')).toBe(true);
    expect(await h.count('dingtalk', 'ops', 'sent')).toBe(1);
    expect(await h.count('dingtalk', 'ops', 'failed')).toBe(0);
  });

  it('DingTalk: a resolved message mentions nobody', async () => {
    h = await startHarness();
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1, { status: 'resolved' })]))).statusCode).toBe(200);
    const msg = h.ding.delivered[0]!;
    expect(msg.body.at).toEqual({ atMobiles: [], atUserIds: [], isAtAll: false });
    expect(msg.text).not.toContain('@13800000000');
    expect(msg.text).toContain('✅ 恢复');
  });

  it('WeCom: markdown with <@userid>, then a text message that mentions @all and the mobiles', async () => {
    h = await startHarness();
    const res = await post(h.app, '/alerts/wecom/backend', makePayload([makeAlert(1)]));
    expect(res.statusCode).toBe(200);
    await waitFor('the mention message', () => h!.wecom.delivered.length === 2, 5000);
    const [md, text] = h.wecom.delivered;
    expect(md!.body.msgtype).toBe('markdown');
    expect(md!.text).toContain('<@zhangsan>');
    expect(md!.text).toContain('队列：queue-1');
    expect(text!.body).toMatchObject({ msgtype: 'text', text: { mentioned_list: ['@all'], mentioned_mobile_list: ['13900000000'] } });
    expect(h.wecom.refused).toEqual([]);
  });

  it('a custom template that does not compile: logged, and the default template is used', async () => {
    h = await startHarness({ dingTemplate: '{{#firing}}{{alertname}}' });
    expect(h.logs()).toMatch(/custom template unusable/);
    expect(h.logs()).toMatch(/is never closed/);
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]))).statusCode).toBe(200);
    expect(h.ding.delivered[0]!.text).toContain('**QueueBacklogHigh** [critical]');
  });

  it('a custom template renders the message', async () => {
    h = await startHarness({ dingTemplate: '## {{statusText}} {{title}}\n{{#firing}}\n- {{queue}}: {{summary}}\n{{/firing}}\n' });
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]))).statusCode).toBe(200);
    expect(h.ding.delivered[0]!.text).toBe('## 告警 QueueBacklogHigh · queue-1\n- queue-1: 队列 queue-1 积压 1001 条\n\n\n@13800000000 @user001');
  });
});

describe('relay: bad input gets 4xx, never a crash', () => {
  it('unknown target → 404, without calling any robot', async () => {
    h = await startHarness();
    const res = await post(h.app, '/alerts/dingtalk/nosuch', makePayload([makeAlert(1)]));
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatch(/no dingtalk target named "nosuch"/);
    expect((await post(h.app, '/alerts/wecom/ops', makePayload([makeAlert(1)]))).statusCode).toBe(404); // ops is a DingTalk target
    expect((await post(h.app, '/alerts/slack/ops', makePayload([makeAlert(1)]))).statusCode).toBe(404);
    expect(h.ding.arrivals.length + h.wecom.arrivals.length).toBe(0);
  });

  it('malformed and hostile bodies → 400/413/415 with a reason', async () => {
    h = await startHarness();
    const good = makePayload([makeAlert(1)]);
    const cases: [string, unknown, RegExp][] = [
      ['missing alerts', { ...good, alerts: undefined }, /alerts: /],
      ['empty alerts', { ...good, alerts: [] }, /alerts: must hold at least one alert/],
      ['wrong version', { ...good, version: '3' }, /version: must be "4"/],
      ['status not an enum', { ...good, status: 'burning' }, /status: /],
      ['label of the wrong type', { ...good, alerts: [{ ...makeAlert(1), labels: { queue: 42 } }] }, /alerts\[0\]\.labels\.queue: /],
      ['alerts is an object', { ...good, alerts: { a: 1 } }, /alerts: /],
      ['bad startsAt', { ...good, alerts: [{ ...makeAlert(1), startsAt: 'yesterday' }] }, /alerts\[0\]\.startsAt: must be an RFC 3339 timestamp/],
      ['huge label', { ...good, alerts: [{ ...makeAlert(1), labels: { alertname: 'x', queue: 'q'.repeat(100_000) } }] }, /alerts\[0\]\.labels\.queue: longer than 4096/],
      ['too many labels', { ...good, alerts: [{ ...makeAlert(1), labels: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`l${i}`, 'v'])) }] }, /more than 256 entries/],
      ['truncatedAlerts negative', { ...good, truncatedAlerts: -1 }, /truncatedAlerts: /],
      ['a JSON array', [good], /\(body\): /],
      ['a JSON string', 'hello', /\(body\): /],
    ];
    for (const [name, body, reason] of cases) {
      const res = await post(h.app, '/alerts/dingtalk/ops', body);
      expect(res.statusCode, name).toBe(400);
      expect(res.json().error, name).toMatch(reason);
    }
    // not JSON at all
    const notJson = await h.app.inject({ method: 'POST', url: '/alerts/wecom/backend', payload: '{"version":', headers: { 'content-type': 'application/json' } });
    expect(notJson.statusCode).toBe(400);
    // prototype poisoning
    const poisoned = await h.app.inject({ method: 'POST', url: '/alerts/wecom/backend', payload: '{"__proto__":{"x":1},"version":"4"}', headers: { 'content-type': 'application/json' } });
    expect(poisoned.statusCode).toBe(400);
    const plain = await h.app.inject({ method: 'POST', url: '/alerts/wecom/backend', payload: 'a=b', headers: { 'content-type': 'text/plain' } });
    expect(plain.statusCode).toBe(400);
    const form = await h.app.inject({ method: 'POST', url: '/alerts/wecom/backend', payload: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.statusCode).toBe(415);
    // a 10 MB body
    const big = JSON.stringify({ ...good, alerts: [{ ...makeAlert(1), annotations: { description: 'x'.repeat(10 * 1024 * 1024) } }] });
    const huge = await h.app.inject({ method: 'POST', url: '/alerts/dingtalk/ops', payload: big, headers: { 'content-type': 'application/json' } });
    expect(huge.statusCode).toBe(413);
    // nothing reached a robot, and the relay still works
    expect(h.ding.arrivals.length + h.wecom.arrivals.length).toBe(0);
    expect((await post(h.app, '/alerts/dingtalk/ops', good)).statusCode).toBe(200);
  });

  it('accepts unknown fields (newer Alertmanager) and missing optional ones', async () => {
    h = await startHarness();
    const { externalURL: _e, commonAnnotations: _c, ...rest } = makePayload([makeAlert(1)]);
    const res = await post(h.app, '/alerts/dingtalk/ops', { ...rest, routeLabels: { team: 'a' }, somethingNew: [1, 2] });
    expect(res.statusCode).toBe(200);
  });
});

describe('relay: robot errors', () => {
  const retryable: [string, 'ding' | 'wecom', object][] = [
    ['DingTalk 130101 (too fast)', 'ding', { errcode: 130101, errmsg: 'send too fast' }],
    ['WeCom 45009 (api freq out of limit)', 'wecom', { errcode: 45009, errmsg: 'api freq out of limit' }],
    ['DingTalk -1 (system busy)', 'ding', { errcode: -1, errmsg: '系统繁忙' }],
    ['HTTP 502', 'wecom', { status: 502 }],
    ['HTTP 503', 'ding', { status: 503 }],
    ['a timeout', 'ding', { hang: true }],
  ];
  for (const [name, robot, fault] of retryable) {
    it(`${name} is retried with backoff until delivered`, async () => {
      h = await startHarness({ timeoutMs: 'hang' in fault ? 500 : 5000 });
      const r = robot === 'ding' ? h.ding : h.wecom;
      r.faults.push(fault as never, fault as never);
      const path = robot === 'ding' ? '/alerts/dingtalk/ops' : '/alerts/wecom/backend';
      const res = await post(h.app, path, makePayload([makeAlert(1)]));
      expect(res.statusCode).toBe(200);
      expect(r.delivered.length).toBeGreaterThanOrEqual(1);
      expect(r.delivered[0]!.text).toContain('queue-1');
      expect(r.arrivals.length).toBeGreaterThanOrEqual(3);
      const [channel, target] = robot === 'ding' ? ['dingtalk', 'ops'] : ['wecom', 'backend'];
      // two scripted failures, two retries (a slow machine may add a timeout-retry of its own)
      expect(await h.count(channel, target, 'retried')).toBeGreaterThanOrEqual(2);
      expect(await h.count(channel, target, 'sent')).toBe(1);
      expect(h.logs()).toMatch(/will retry/);
      expectNoSecrets(h.logs());
    });
  }

  const permanent: [string, 'ding' | 'wecom', object, RegExp][] = [
    ['DingTalk 310000 (keyword / signature / IP whitelist)', 'ding', { errcode: 310000, errmsg: 'keywords not in content' }, /errcode 310000/],
    ['DingTalk 300001 (token does not exist)', 'ding', { errcode: 300001, errmsg: 'token is not exist' }, /errcode 300001/],
    ['DingTalk 460101 (too long)', 'ding', { errcode: 460101, errmsg: 'message too long' }, /errcode 460101/],
    ['WeCom 93000 (invalid key)', 'wecom', { errcode: 93000, errmsg: 'invalid webhook url' }, /errcode 93000/],
    ['WeCom 40058 (too long)', 'wecom', { errcode: 40058, errmsg: 'markdown.content exceed max length' }, /errcode 40058/],
    ['HTTP 404', 'wecom', { status: 404 }, /HTTP 404/],
  ];
  for (const [name, robot, fault, reason] of permanent) {
    it(`${name} is not retried: 422, counted as failed, logged without the token`, async () => {
      h = await startHarness();
      const r = robot === 'ding' ? h.ding : h.wecom;
      r.faults.push(fault as never);
      const path = robot === 'ding' ? '/alerts/dingtalk/ops' : '/alerts/wecom/backend';
      const res = await post(h.app, path, makePayload([makeAlert(1)]));
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toMatch(reason);
      expectNoSecrets(res.body);
      expect(r.arrivals).toHaveLength(1);
      const [channel, target] = robot === 'ding' ? ['dingtalk', 'ops'] : ['wecom', 'backend'];
      expect(await h.count(channel, target, 'failed')).toBe(1);
      expect(await h.count(channel, target, 'retried')).toBe(0);
      expect(h.logs()).toMatch(/refused the message permanently/);
      expect(h.logs()).toMatch(reason);
      expectNoSecrets(h.logs());
    });
  }

  it('an unreachable robot: retried (ECONNREFUSED), answered 202 after the hold, no token in the logs', async () => {
    h = await startHarness({ tuning: { holdMs: 300 } });
    await h.ding.close();
    const res = await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]));
    expect(res.statusCode).toBe(202);
    await waitFor('a retry', async () => (await h!.count('dingtalk', 'ops', 'retried')) >= 1);
    expect(h.logs()).toMatch(/ECONNREFUSED/);
    expectNoSecrets(h.logs());
    expectNoSecrets(res.body);
  });

  it('a real signature refusal: the fake robot rejects a wrong secret with 310000, and the secret is not logged', async () => {
    const { startFakeDingtalk } = await import('./fake-robots.js');
    const robot = await startFakeDingtalk(DING_TOKEN, { secret: 'SECtheRobotsRealSecret' });
    h = await startHarness();
    try {
      // point a second harness-like app at a robot whose secret differs
      const Fastify = (await import('fastify')).default;
      const { Registry } = await import('prom-client');
      const { relayPlugin } = await import('../../src/relay/plugin.js');
      const app = Fastify({ logger: false });
      await app.register(relayPlugin, {
        registry: new Registry(),
        notify: {
          dingtalk: { x: { url: robot.url, secret: DING_SECRET, mention: { mobiles: [], userIds: [], all: false }, template: '' } },
          wecom: {},
          rateLimit: { count: 20, windowMs: 60_000 },
          timeout: 2000,
          timeZone: 'UTC',
        },
      });
      const res = await post(app, '/alerts/dingtalk/x', makePayload([makeAlert(1)]));
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toMatch(/errcode 310000 \(sign not match\)/);
      expect(robot.refused.map((x) => x.errcode)).toEqual([310000]);
      expectNoSecrets(res.body);
      await app.close();
    } finally {
      await robot.close();
    }
  });
});

describe('relay: reload', () => {
  it('reconfigure() adds, changes and removes targets', async () => {
    const { startFakeWecom } = await import('./fake-robots.js');
    const Fastify = (await import('fastify')).default;
    const { Registry } = await import('prom-client');
    const { relayPlugin, Relay } = await import('../../src/relay/plugin.js');
    const robotA = await startFakeWecom('key-a');
    const robotB = await startFakeWecom('key-b');
    const app = Fastify({ logger: false });
    try {
      const base = { dingtalk: {}, rateLimit: { count: 20, windowMs: 60_000 }, timeout: 2000, timeZone: 'UTC' };
      const target = (url: string) => ({ url, mention: { mobiles: [], userIds: [], all: false }, template: '' });
      const registry = new Registry();
      const relay = new Relay({ notify: { ...base, wecom: { a: target(robotA.url) } }, registry, log: app.log });
      await app.register(relayPlugin, { notify: { ...base, wecom: {} }, registry, relay });
      expect((await post(app, '/alerts/wecom/a', makePayload([makeAlert(1)]))).statusCode).toBe(200);
      expect((await post(app, '/alerts/wecom/b', makePayload([makeAlert(1)]))).statusCode).toBe(404);
      relay.reconfigure({ ...base, wecom: { a: target(robotB.url), b: target(robotB.url) } });
      expect((await post(app, '/alerts/wecom/a', makePayload([makeAlert(2)]))).statusCode).toBe(200);
      expect((await post(app, '/alerts/wecom/b', makePayload([makeAlert(3)]))).statusCode).toBe(200);
      expect(robotA.delivered).toHaveLength(1);
      expect(robotB.delivered).toHaveLength(2);
      relay.reconfigure({ ...base, wecom: { b: target(robotB.url) } });
      expect((await post(app, '/alerts/wecom/a', makePayload([makeAlert(4)]))).statusCode).toBe(404);
    } finally {
      await app.close();
      await robotA.close();
      await robotB.close();
    }
  });
});

describe('relay: rate limit, queueing, shutdown', () => {
  it('over the budget, notifications wait (202 after the hold time), merge into digests and all arrive', async () => {
    h = await startHarness({ rateLimit: { count: 2, windowMs: 1000 }, tuning: { holdMs: 100 } });
    // 5 alerts with long descriptions per notification: about two notifications fit one 20000-byte message
    const payload = (i: number) => makePayload(Array.from({ length: 5 }, (_, j) => makeAlert(i * 10 + j, { alertname: `Alert${i}`, description: '消费者处理变慢，'.repeat(60) })));
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => post(h!.app, '/alerts/dingtalk/ops', payload(i))));
    const codes = responses.map((r) => r.statusCode);
    expect(codes.every((c) => c === 200 || c === 202)).toBe(true);
    expect(codes).toContain(202);
    await waitFor('every alert delivered', () => Array.from({ length: 8 }, (_, i) => `Alert${i}**`).every((n) => h!.ding.delivered.some((d) => d.text.includes(n))), 10_000);
    expect(h.ding.refused).toEqual([]);
    expect(h.ding.maxInAnyWindow()).toBeLessThanOrEqual(2);
    expect(h.ding.delivered.length).toBeLessThan(8); // merged
    expect(await h.count('dingtalk', 'ops', 'merged')).toBeGreaterThan(0);
    await waitFor('all 8 counted as sent', async () => (await h!.count('dingtalk', 'ops', 'sent')) === 8);
    await waitFor('queue empty', async () => (await h!.queueLength('dingtalk', 'ops')) === 0);
    expect(h.ding.delivered.some((d) => d.text.includes('合并了'))).toBe(true);
  });

  it('past notify.store.maxBytes the relay answers 503 so Alertmanager keeps the notification', async () => {
    // room for two queued notifications, not three
    const one = Buffer.byteLength(JSON.stringify(compactPayload(makePayload([makeAlert(1)]))));
    const maxBytes = Math.floor(one * 2.5);
    h = await startHarness({ rateLimit: { count: 1, windowMs: 60_000 }, tuning: { holdMs: 300 }, store: { maxBytes } });
    expect([200, 202]).toContain((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(0)]))).statusCode); // sent: the store is empty again
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]))).statusCode).toBe(202);
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(2)]))).statusCode).toBe(202);
    const full = await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(3)]));
    expect(full.statusCode).toBe(503);
    expect(full.json().error).toMatch(new RegExp(`notify\\.store\\.maxBytes ${maxBytes}`));
    expect(await h.queueLength('dingtalk', 'ops')).toBe(2);
    expect(await h.metric('queuescope_notification_store_bytes')).toBeGreaterThan(one * 1.5);
    expect(await h.metric('queuescope_notification_store_bytes')).toBeLessThanOrEqual(maxBytes);
    // a newer notification of a queued group replaces it instead of needing room
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(2, { status: 'resolved' })]))).statusCode).toBe(202);
    expect(await h.count('dingtalk', 'ops', 'superseded')).toBe(1);
  });

  it('shutdown answers waiting requests 202: the notification is in the store, and the next start delivers it', async () => {
    h = await startHarness({ rateLimit: { count: 1, windowMs: 60_000 }, tuning: { holdMs: 30_000 }, shutdownMs: 300 });
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(0)]))).statusCode).toBe(200);
    const waiting = post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]));
    await waitFor('the second notification queued', async () => (await h!.queueLength('dingtalk', 'ops')) === 1);
    await h.app.close();
    const res = await waiting;
    expect(res.statusCode).toBe(202);
    expect(h.ding.delivered).toHaveLength(1);
    expect(await h.count('dingtalk', 'ops', 'failed')).toBe(0);
    expect(h.logs()).toMatch(/stay in the store; they are sent after the next start/);
    expect(h.logs()).not.toMatch(/lost/);
    const store = h.store;
    await h.close();
    h = await startHarness({ store });
    await waitFor('delivered after the restart', () => h!.ding.delivered.some((d) => d.text.includes('queue-1')));
    expect(await h.count('dingtalk', 'ops', 'recovered')).toBe(1);
    await waitFor('counted as sent', async () => (await h!.count('dingtalk', 'ops', 'sent')) === 1);
  });

  it('over real HTTP: app.close() answers the waiting request promptly instead of hanging', async () => {
    h = await startHarness({ rateLimit: { count: 1, windowMs: 60_000 }, tuning: { holdMs: 30_000 }, shutdownMs: 300 });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
    const send = (i: number) =>
      fetch(`${base}/alerts/dingtalk/ops`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(makePayload([makeAlert(i)])) });
    expect((await send(0)).status).toBe(200);
    const waiting = send(1);
    await waitFor('queued', async () => (await h!.queueLength('dingtalk', 'ops')) === 1);
    const started = Date.now();
    await h.app.close();
    expect((await waiting).status).toBe(202);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('shutdown delivers queued notifications when the budget allows; the rest stay in the store, nothing counted as failed', async () => {
    h = await startHarness({ rateLimit: { count: 1, windowMs: 1000 }, tuning: { holdMs: 300 }, shutdownMs: 3000 });
    expect([200, 202]).toContain((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(0)]))).statusCode);
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]))).statusCode).toBe(202);
    await h.app.close();
    expect(h.ding.delivered.map((d) => d.text.includes('queue-1'))).toEqual([false, true]);
    expect(await h.count('dingtalk', 'ops', 'sent')).toBe(2);

    await h.close();
    h = await startHarness({ rateLimit: { count: 1, windowMs: 60_000 }, tuning: { holdMs: 300 }, shutdownMs: 200 });
    expect([200, 202]).toContain((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(0)]))).statusCode);
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]))).statusCode).toBe(202);
    await h.app.close();
    expect(await h.count('dingtalk', 'ops', 'failed')).toBe(0);
    expect(h.logs()).toMatch(/stay in the store/);
  });
});
