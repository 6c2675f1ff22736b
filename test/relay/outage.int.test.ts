/**
 * A robot outage while alerts keep coming (issue 13's table), with a real
 * sidecar process, a real Alertmanager and the fake DingTalk robot answering
 * HTTP 503 for the whole outage.
 *
 * Alertmanager sends the whole current state of a group each time it
 * changes; the relay keeps one entry per group (a newer notification
 * supersedes the queued one), so the store stays bounded by the number of
 * active groups, never has to refuse, and Alertmanager counts no failed
 * notification. Once the robot is back, each group's latest state arrives,
 * resolutions included.
 *
 * Shortened: the outage lasts 40 s instead of 2 minutes, with 150 groups
 * changing every 2 s (> 1,000 notifications — past the 1,000 the old
 * in-memory queue refused at), and the rate limit is 5/s instead of 20/min.
 * The mechanism is the production one.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../helpers/ports.js';
import { relayRoutingConfig, startAlertmanager, webhookMetric, type Proc } from '../alerting/stack.js';
import { startFakeDingtalk, type FakeRobot } from './fake-robots.js';
import { startSidecar, stopAllSidecars } from './sidecar.js';

const TOKEN = 'outage-dingtalk-token-0123456789';
const SECRET = 'SECoutageSigningSecret0123456789';
const GROUPS = 150;
const OUTAGE_MS = 40_000;
const STEP_MS = 2000;

let robot: FakeRobot | undefined;
let am: Proc | undefined;
afterEach(async () => {
  await stopAllSidecars();
  await am?.stop();
  am = undefined;
  await robot?.close();
  robot = undefined;
});

describe('robot outage with alerts arriving', () => {
  it('0 failed at Alertmanager, the store bounded by the active groups, every group\'s latest state delivered after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qs-outage-'));
    robot = await startFakeDingtalk(TOKEN, { secret: SECRET, rateLimit: { count: 5, windowMs: 1000 } });
    const port = await freePort();
    const amConfig = join(dir, 'alertmanager.yml');
    writeFileSync(amConfig, relayRoutingConfig([`http://127.0.0.1:${port}/alerts/dingtalk/ops`]));
    const sidecar = await startSidecar(
      dir,
      'relay',
      (p) => `
listen: 127.0.0.1:${p}
redis:
  url: redis://127.0.0.1:1/0
discover: []
notify:
  dingtalk:
    ops:
      url: ${robot!.url}
      secret: ${SECRET}
  rateLimit: 5/s
  store:
    path: ./outbox
`,
      port,
    );
    am = await startAlertmanager(dir, amConfig);
    const amBase = `http://127.0.0.1:${am.port}`;
    const amWebhook = (metric: string) => webhookMetric(am!, metric);

    // step k: in every group, instance host-k fires and host-(k-1) resolves
    const push = async (k: number): Promise<void> => {
      const now = Date.now();
      const alerts = [];
      for (let g = 0; g < GROUPS; g++) {
        const labels = (i: number) => ({ alertname: `Outage${String(g).padStart(3, '0')}`, severity: 'critical', queue: `queue-${g}`, instance: `host-${i}` });
        alerts.push({ labels: labels(k), annotations: { summary: `step ${k}` }, startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3_600_000).toISOString() });
        if (k > 0) alerts.push({ labels: labels(k - 1), annotations: { summary: `step ${k - 1}` }, startsAt: new Date(now - STEP_MS).toISOString(), endsAt: new Date(now).toISOString() });
      }
      const res = await fetch(`${amBase}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      expect(res.status).toBe(200);
    };

    await push(0);
    await waitFor('every group delivered once', () => new Set(robot!.delivered.flatMap((d) => [...d.text.matchAll(/\*\*(Outage\d{3})\*\*/g)].map((m) => m[1]))).size === GROUPS, 30_000, 200);

    // the outage: every robot call answers HTTP 503
    for (let i = 0; i < 100_000; i++) robot.faults.push({ status: 503 });
    const outageStart = Date.now();
    const deliveredBefore = robot.delivered.length;
    let k = 0;
    let maxQueued = 0;
    let maxAge = 0;
    while (Date.now() - outageStart < OUTAGE_MS) {
      k++;
      await push(k);
      await waitFor(`step ${k} sent on`, async () => {
        maxQueued = Math.max(maxQueued, await sidecar.metric('queuescope_notification_queue_length'));
        maxAge = Math.max(maxAge, await sidecar.metric('queuescope_notification_oldest_undelivered_age_seconds'));
        return Date.now() - outageStart >= k * STEP_MS;
      }, STEP_MS * 3, 250);
    }
    const received = await sidecar.metric('queuescope_notifications_total', { outcome: 'stored' }) + (await sidecar.metric('queuescope_notifications_total', { outcome: 'superseded' }));
    expect(robot.delivered.length).toBe(deliveredBefore);
    expect(received).toBeGreaterThan(1000); // Alertmanager kept sending: more than the old in-memory queue held
    expect(maxQueued).toBeLessThanOrEqual(GROUPS * 2); // one entry per group (plus a group's newer entry while its older one is being retried)
    expect(maxAge).toBeGreaterThan(OUTAGE_MS / 1000 / 2); // the age an alert can fire on
    expect(await sidecar.metric('queuescope_notifications_total', { outcome: 'superseded' })).toBeGreaterThan(GROUPS * 4);
    expect(await sidecar.metric('queuescope_notifications_total', { outcome: 'retried' })).toBeGreaterThan(0);
    expect(await amWebhook('alertmanager_notifications_failed_total')).toBe(0);

    // the robot is back: each group's latest firing instance arrives, and the resolved ones it replaced
    robot.faults.length = 0;
    const last = k;
    const after = () => robot!.delivered.slice(deliveredBefore).map((d) => d.text).join('\n');
    await waitFor('every group\'s latest state delivered', () => {
      const text = after();
      return Array.from({ length: GROUPS }, (_, g) => `Outage${String(g).padStart(3, '0')}`).every((n) => text.includes(`**${n}**`)) && (text.match(new RegExp(`实例：host-${last}\\n`, 'g')) ?? []).length >= GROUPS;
    }, 120_000, 500);
    expect(after()).toMatch(/已恢复/);
    await waitFor('the store drained', async () => (await sidecar.metric('queuescope_notification_queue_length')) === 0, 30_000, 200);
    expect(await sidecar.metric('queuescope_notification_oldest_undelivered_age_seconds')).toBe(0);
    expect(await sidecar.metric('queuescope_notifications_total', { outcome: 'failed' })).toBe(0);
    expect(await amWebhook('alertmanager_notifications_failed_total')).toBe(0);
    expect(robot.refused).toEqual([]);
    expect(robot.maxInAnyWindow()).toBeLessThanOrEqual(5);
  }, 240_000);
});
