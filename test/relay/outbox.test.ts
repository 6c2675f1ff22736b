/**
 * Outbox behaviour around the store, in process with the fake robots:
 * de-duplication, the permanent-refusal split, compact payloads, the
 * oldest-undelivered age, and the webhook body timeout.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RELAY_BODY_TIMEOUT_MS } from '../../src/relay/plugin.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis-server.js';
import { makeAlert, makePayload } from './fixtures.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const post = (app: Harness['app'], path: string, payload: unknown) =>
  app.inject({ method: 'POST', url: path, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });

describe('outbox', () => {
  it('the same notification twice (HA fan-out): one message, the second answered 200 deduplicated', async () => {
    h = await startHarness();
    const p = makePayload([makeAlert(1), makeAlert(2)]);
    expect((await post(h.app, '/alerts/dingtalk/ops', p)).json()).toEqual({ status: 'sent' });
    const again = await post(h.app, '/alerts/dingtalk/ops', p);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ status: 'deduplicated' });
    expect(h.ding.delivered).toHaveLength(1);
    expect(await h.count('dingtalk', 'ops', 'deduplicated')).toBe(1);
    // a real change of the group is not a duplicate
    expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1), makeAlert(2, { status: 'resolved' })]))).json()).toEqual({ status: 'sent' });
    // and the same alerts for another robot are not either
    expect((await post(h.app, '/alerts/wecom/backend', p)).statusCode).toBe(200);
  });

  it('one permanent refusal does not fail the notifications merged with it: the digest is split and each sent alone', async () => {
    h = await startHarness({ rateLimit: { count: 1, windowMs: 300 }, tuning: { holdMs: 100 } });
    expect([200, 202]).toContain((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(0, { alertname: 'First' })]))).statusCode);
    // three notifications wait and will be merged into one digest
    const codes = await Promise.all([1, 2, 3].map((i) => post(h!.app, '/alerts/dingtalk/ops', makePayload([makeAlert(i, { alertname: `Split${i}` })]))));
    expect(codes.map((c) => c.statusCode)).toEqual([202, 202, 202]);
    // the digest is refused, then the first one alone is refused too (e.g. a keyword rule it alone breaks)
    h.ding.faults.push({ errcode: 310000, errmsg: 'keywords not in content' }, { errcode: 310000, errmsg: 'keywords not in content' });
    await waitFor('the other two delivered', () => ['Split2', 'Split3'].every((n) => h!.ding.delivered.some((d) => d.text.includes(`**${n}**`))), 10_000);
    await waitFor('one counted as failed', async () => (await h!.count('dingtalk', 'ops', 'failed')) === 1);
    expect(h.ding.refused.map((r) => r.errcode)).toEqual([310000, 310000]);
    expect(h.ding.delivered.some((d) => d.text.includes('**Split1**'))).toBe(false);
    await waitFor('three counted as sent', async () => (await h!.count('dingtalk', 'ops', 'sent')) === 3);
    expect(h.logs()).toMatch(/refused a digest permanently; sending its notifications one by one/);
    await waitFor('store empty', async () => (await h!.queueLength('dingtalk', 'ops')) === 0);
  });

  it('queued payloads are compact: a hostile 32 KiB annotation costs about what the message shows', async () => {
    h = await startHarness({ rateLimit: { count: 1, windowMs: 60_000 }, tuning: { holdMs: 100 } });
    await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(0)]));
    const huge = makeAlert(1);
    huge.annotations = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`a${i}`, '告'.repeat(30_000)]));
    const body = makePayload([huge], { commonAnnotations: { description: 'x'.repeat(30_000) } });
    expect(JSON.stringify(body).length).toBeGreaterThan(600_000);
    expect((await post(h.app, '/alerts/dingtalk/ops', body)).statusCode).toBe(202);
    const bytes = await h.metric('queuescope_notification_store_bytes');
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(20 * 1600 + 4000); // 20 annotations capped at 1500 bytes, plus the rest
  });

  it('exports the age of the oldest undelivered notification, 0 when nothing waits', async () => {
    h = await startHarness({ rateLimit: { count: 1, windowMs: 60_000 }, tuning: { holdMs: 100 } });
    expect(await h.metric('queuescope_notification_oldest_undelivered_age_seconds', { channel: 'dingtalk', target: 'ops' })).toBe(0);
    await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(0)]));
    await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]));
    await waitFor('the age grows while it waits', async () => (await h!.metric('queuescope_notification_oldest_undelivered_age_seconds', { channel: 'dingtalk', target: 'ops' })) >= 0.3, 5000);
    expect(await h.metric('queuescope_notification_oldest_undelivered_age_seconds', { channel: 'wecom', target: 'backend' })).toBe(0);
  });

  it(`a half-sent body is cut off after ${RELAY_BODY_TIMEOUT_MS / 1000} s with 408, and the relay keeps working`, async () => {
    h = await startHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (h.app.server.address() as { port: number }).port;
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.write(`POST /alerts/dingtalk/ops HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{"version":"4",`);
      });
      let got = '';
      sock.on('data', (d) => (got += d.toString()));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
    });
    const elapsed = Date.now() - started;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(elapsed).toBeGreaterThanOrEqual(RELAY_BODY_TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(RELAY_BODY_TIMEOUT_MS + 3000);
    const ok = await fetch(`http://127.0.0.1:${port}/alerts/dingtalk/ops`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(makePayload([makeAlert(1)])) });
    expect(ok.status).toBe(200);
  }, 20_000);

  it('a shared store that is down: 503 (Alertmanager keeps the notification), and accepted again once it is back', async () => {
    const redis = await startRedis();
    try {
      h = await startHarness({ store: { redis: redis.url }, tuning: { holdMs: 2000, leaseMs: 1000, pollMs: 100 } });
      expect((await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(1)]))).json()).toEqual({ status: 'sent' });
      expect(await h.metric('queuescope_notification_leases_total', { outcome: 'acquired' })).toBe(2); // one per robot
      await redis.kill();
      const down = await post(h.app, '/alerts/dingtalk/ops', makePayload([makeAlert(2)]));
      expect(down.statusCode).toBe(503);
      expect(down.json().error).toMatch(/store failed/);
      await redis.restart();
      await waitFor('accepted again', async () => (await post(h!.app, '/alerts/dingtalk/ops', makePayload([makeAlert(3)]))).statusCode === 200, 15_000, 200);
      expect(h.ding.delivered.some((d) => d.text.includes('queue-3'))).toBe(true);
    } finally {
      await h?.close();
      h = undefined;
      await redis.stop();
    }
  }, 30_000);
});
