/**
 * A flood: 100 notifications at once to one DingTalk robot and 100 to one
 * WeCom robot, with the rate window scaled down to 20 per 2 s on both sides
 * (relay config and fake robot), so the test takes seconds, not minutes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { makeAlert, makePayload } from './fixtures.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const names = (prefix: string) => Array.from({ length: 100 }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

describe('a burst of 100 notifications per robot', () => {
  it('no message is refused by the robot and every alert arrives', async () => {
    const rate = { count: 20, windowMs: 2000 };
    h = await startHarness({ rateLimit: rate });
    const app = h.app;
    const post = (path: string, body: unknown) =>
      app.inject({ method: 'POST', url: path, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

    // DingTalk: 4 alerts with long Chinese descriptions per notification, so about two fit one 20000-byte message (≈ 50 messages)
    const dingNames = names('DingBurst');
    const ding = dingNames.map((name, i) =>
      post('/alerts/dingtalk/ops', makePayload(Array.from({ length: 4 }, (_, j) => makeAlert(i * 4 + j, { alertname: name, description: '消费者处理变慢，积压持续增长。'.repeat(30) })))),
    );
    // WeCom: one short alert per notification; each digest of ~10 is followed by the @all mention message
    const wecomNames = names('WecomBurst');
    const wecom = wecomNames.map((name, i) => post('/alerts/wecom/backend', makePayload([makeAlert(1000 + i, { alertname: name })])));

    const responses = await Promise.all([...ding, ...wecom]);
    const codes = new Set(responses.map((r) => r.statusCode));
    expect([...codes].every((c) => c === 200 || c === 202)).toBe(true);

    const deliveredAll = (robot: Harness['ding'], list: string[]) => () => {
      const text = robot.delivered.map((d) => d.text).join('\n');
      return list.every((n) => text.includes(`**${n}**`));
    };
    await waitFor('every DingTalk alert name delivered', deliveredAll(h.ding, dingNames), 40_000, 100);
    await waitFor('every WeCom alert name delivered', deliveredAll(h.wecom, wecomNames), 40_000, 100);
    await waitFor('all notifications counted as sent', async () => (await h!.count('dingtalk', 'ops', 'sent')) === 100 && (await h!.count('wecom', 'backend', 'sent')) === 100, 10_000);

    for (const robot of [h.ding, h.wecom]) {
      expect(robot.refused).toEqual([]);
      expect(robot.maxInAnyWindow()).toBeLessThanOrEqual(rate.count);
    }
    // the limiter was what kept it within the budget: more than one window's worth was needed
    expect(h.ding.delivered.length).toBeGreaterThan(rate.count);
    expect(h.wecom.delivered.length).toBeGreaterThan(rate.count);
    // and digests did the rest: far fewer messages than notifications
    expect(h.ding.delivered.length).toBeLessThan(100);
    expect(await h.count('dingtalk', 'ops', 'merged')).toBeGreaterThan(0);
    expect(await h.count('wecom', 'backend', 'merged')).toBeGreaterThan(0);
    // nothing was cut to fit, nothing failed, nothing is left waiting
    expect(await h.count('dingtalk', 'ops', 'truncated')).toBe(0);
    expect(await h.count('wecom', 'backend', 'truncated')).toBe(0);
    expect(await h.count('dingtalk', 'ops', 'failed')).toBe(0);
    expect(await h.count('wecom', 'backend', 'failed')).toBe(0);
    expect(await h.queueLength('dingtalk', 'ops')).toBe(0);
    expect(await h.queueLength('wecom', 'backend')).toBe(0);
  }, 60_000);
});
