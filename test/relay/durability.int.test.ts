/**
 * The relay never loses what it acknowledged (issue 13's table, single
 * replica, local SQLite store), with real sidecar processes (dist/src/cli.js)
 * and a real Alertmanager:
 *
 * - 300 distinct notifications, every one answered 2xx, then `kill -9` or
 *   SIGTERM → after a restart on the same store all 300 reach the robot, each
 *   once;
 * - the same through Alertmanager (300 alert groups).
 *
 * The first run's rate limit is 1/h, so all but the first notification are
 * still queued when the process dies; the restart runs at 50/s so the test
 * does not wait an hour for the drain. Only the rate differs: the store, the
 * recovery and the sender are the production ones.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../helpers/ports.js';
import { relayRoutingConfig, startAlertmanager, webhookMetric, type Proc } from '../alerting/stack.js';
import { deliveriesByAlert, startFakeDingtalk, type FakeRobot } from './fake-robots.js';
import { makeAlert, makePayload } from './fixtures.js';
import { startSidecar, stopAllSidecars } from './sidecar.js';

const TOKEN = 'durable-dingtalk-token-0123456789';
const SECRET = 'SECdurableSigningSecret0123456789';
const N = 300;

let robot: FakeRobot | undefined;
let am: Proc | undefined;
afterEach(async () => {
  await stopAllSidecars();
  await am?.stop();
  am = undefined;
  await robot?.close();
  robot = undefined;
});

const sidecarYaml = (robotUrl: string, rate: string) => (port: number) => `
listen: 127.0.0.1:${port}
logLevel: info
redis:
  url: redis://127.0.0.1:1/0
discover: []
notify:
  dingtalk:
    ops:
      url: ${robotUrl}
      secret: ${SECRET}
  rateLimit: ${rate}
  store:
    path: ./outbox
`;

const name = (i: number) => `Durable${String(i).padStart(3, '0')}`;

const deliveries = (r: FakeRobot) => deliveriesByAlert(r, 'Durable');

async function expectAllOnce(r: FakeRobot): Promise<void> {
  await waitFor(`all ${N} alerts delivered`, () => deliveries(r).size === N, 60_000, 200);
  const counts = deliveries(r);
  expect([...counts.values()].filter((c) => c !== 1)).toEqual([]);
  expect(r.refused).toEqual([]);
}

describe('durable outbox, single replica', () => {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${N} notifications answered 2xx, then ${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'}: 0 lost after the restart`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'qs-durable-'));
      robot = await startFakeDingtalk(TOKEN, { secret: SECRET, rateLimit: { count: 1000, windowMs: 1000 } });
      const first = await startSidecar(dir, 'first', sidecarYaml(robot.url, '1/h'));
      const responses = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          fetch(`${first.base}/alerts/dingtalk/ops`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(makePayload([makeAlert(i, { alertname: name(i) })])),
          }),
        ),
      );
      const codes = responses.map((r) => r.status);
      expect(codes.filter((c) => c !== 200 && c !== 202)).toEqual([]);
      expect(await first.metric('queuescope_notifications_total', { outcome: 'stored' })).toBe(N);
      expect(robot.delivered.length).toBe(1); // the budget of 1/h is spent
      const before = deliveries(robot).size;

      if (signal === 'SIGKILL') await first.kill9();
      else {
        const exit = await first.term();
        expect(exit.code, first.log()).toBe(0);
        expect(first.log()).toMatch(/stay in the store; they are sent after the next start/);
        expect(first.log()).not.toMatch(/lost/);
      }
      const second = await startSidecar(dir, 'second', sidecarYaml(robot.url, '50/s'));
      await expectAllOnce(robot);
      expect(await second.metric('queuescope_notifications_total', { outcome: 'recovered' })).toBe(N - before);
      await waitFor('nothing left waiting', async () => (await second.metric('queuescope_notification_queue_length')) === 0, 10_000);
      expect(await second.metric('queuescope_notification_oldest_undelivered_age_seconds')).toBe(0);
    }, 120_000);
  }

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${N} alert groups through a real Alertmanager, ${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} after the answers: 0 lost end to end`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'qs-durable-am-'));
      robot = await startFakeDingtalk(TOKEN, { secret: SECRET, rateLimit: { count: 1000, windowMs: 1000 } });
      const port = await freePort();
      const amConfig = join(dir, 'alertmanager.yml');
      writeFileSync(amConfig, relayRoutingConfig([`http://127.0.0.1:${port}/alerts/dingtalk/ops`]));
      const first = await startSidecar(dir, 'first', sidecarYaml(robot.url, '1/h'), port);
      am = await startAlertmanager(dir, amConfig);
      const now = Date.now();
      const alerts = Array.from({ length: N }, (_, i) => ({
        labels: { alertname: name(i), severity: 'critical', queue: `queue-${i}`, instance: 'queuescope:9640' },
        annotations: { summary: `队列 queue-${i} 积压` },
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 3_600_000).toISOString(),
      }));
      const pushed = await fetch(`http://127.0.0.1:${am.port}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      expect(pushed.status).toBe(200);
      const amMetric = (metric: string) => webhookMetric(am!, metric);
      // every notification answered: Alertmanager observes the latency once the webhook call returned
      await waitFor(`Alertmanager got ${N} answers`, async () => (await amMetric('alertmanager_notification_latency_seconds_count')) >= N, 90_000, 200);
      expect(await amMetric('alertmanager_notifications_failed_total')).toBe(0);
      expect(await first.metric('queuescope_notifications_total', { outcome: 'stored' })).toBe(N);
      const before = deliveries(robot).size;

      if (signal === 'SIGKILL') await first.kill9();
      else expect((await first.term()).code, first.log()).toBe(0);
      const second = await startSidecar(dir, 'second', sidecarYaml(robot.url, '50/s'), port);
      await expectAllOnce(robot);
      expect(await second.metric('queuescope_notifications_total', { outcome: 'recovered' })).toBe(N - before);
      expect(await amMetric('alertmanager_notifications_failed_total')).toBe(0);
    }, 150_000);
  }
});
