/**
 * Several relay replicas act as one robot client through a shared Redis
 * store (issue 13's table), with real sidecar processes, a real
 * redis-server as the store, a real Alertmanager and the fake WeCom robot
 * (its 4096-byte limit makes a flood of many messages):
 *
 * - two replicas, Alertmanager sending every notification to both (the HA
 *   fan-out): every alert reaches the chat exactly once;
 * - two replicas behind a round-robin load balancer: the robot never gets
 *   more than the limit in any window;
 * - three replicas with the fan-out, and the one sending for the robot is
 *   killed with `kill -9` mid-flood (between two robot calls): another takes
 *   its lease over, still exactly once, still within the limit.
 *
 * The rate limit is 5/s on both sides (relay config and fake robot) instead
 * of 20/min, so a flood lasts seconds; the mechanism (a sliding window in a
 * Redis ZSET, reserved by a Lua script) is the same.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { relayRoutingConfig, startAlertmanager, type Proc } from '../alerting/stack.js';
import { REDIS_STORE_PREFIX } from '../../src/relay/redis-store.js';
import { deliveriesByAlert, startFakeWecom, type FakeRobot } from './fake-robots.js';
import { makeAlert, makePayload } from './fixtures.js';
import { startSidecar, stopAllSidecars, type Sidecar } from './sidecar.js';

const KEY = 'replica-wecom-key-0123456789';
const RATE = { count: 5, windowMs: 1000 };
const N = 100;
/** long enough that only two notifications fit one 4096-byte WeCom message: a flood of ~50 messages */
const DESCRIPTION = '消费者处理变慢，积压持续增长，请检查消费者进程与下游依赖。'.repeat(12);

let store: RedisServer | undefined;
let robot: FakeRobot | undefined;
let am: Proc | undefined;
let dir: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qs-replicas-'));
  store = await startRedis();
  robot = await startFakeWecom(KEY, { rateLimit: RATE });
});
afterEach(async () => {
  await stopAllSidecars();
  await am?.stop();
  am = undefined;
  await robot?.close();
  await store?.stop();
});

const yaml = (name: string) => (port: number) => `
listen: 127.0.0.1:${port}
logLevel: info
redis:
  url: redis://127.0.0.1:1/0
discover: []
notify:
  wecom:
    backend:
      url: ${robot!.url}
  rateLimit: ${RATE.count}/s
  store:
    path: ./outbox-${name}
    redis: ${store!.url}
`;

const alertName = (i: number) => `Replica${String(i).padStart(3, '0')}`;

const deliveries = (r: FakeRobot) => deliveriesByAlert(r, 'Replica');

async function expectExactlyOnceWithinLimit(r: FakeRobot): Promise<void> {
  await waitFor(`all ${N} alerts delivered`, () => deliveries(r).size === N, 90_000, 200);
  // let a late duplicate show up if there were one
  const settled = r.arrivals.length;
  await waitFor('no more robot calls', async () => {
    const n = r.arrivals.length;
    await new Promise((x) => setTimeout(x, 1500));
    return r.arrivals.length === n;
  }, 20_000);
  expect(r.arrivals.length).toBeGreaterThanOrEqual(settled);
  const dup = [...deliveries(r).entries()].filter(([, c]) => c !== 1);
  if (dup.length) {
    const at = (n: string) => r.delivered.filter((d) => d.text.includes(`**${n}**`)).map((d) => d.at % 100000);
    console.log('duplicates', dup.map(([n]) => `${n}@${at(n).join(',')}`).join(' '), 'arrivals', r.arrivals.map((a) => a % 100000).join(','));
    for (const sc of replicasSeen) console.log(sc.logFile, sc.log().split('\n').filter((l) => /took over|lease|another relay|error/i.test(l)).join('\n'));
  }
  expect(dup).toEqual([]);
  expect(r.refused).toEqual([]);
  expect(r.maxInAnyWindow()).toBeLessThanOrEqual(RATE.count);
  expect(r.delivered.length).toBeGreaterThan(RATE.count * 3); // a flood: the shared budget did the pacing
}

let replicasSeen: Sidecar[] = [];
async function startReplicas(n: number, ports: number[]): Promise<Sidecar[]> {
  return (replicasSeen = await Promise.all(Array.from({ length: n }, (_, i) => startSidecar(dir, `replica${i}`, yaml(`r${i}`), ports[i]))));
}

async function fanOutAlertmanager(ports: number[]): Promise<Proc> {
  const file = join(dir, 'alertmanager.yml');
  writeFileSync(file, relayRoutingConfig(ports.map((p) => `http://127.0.0.1:${p}/alerts/wecom/backend`)));
  return startAlertmanager(dir, file);
}

async function pushAlerts(amPort: number): Promise<void> {
  const now = Date.now();
  const alerts = Array.from({ length: N }, (_, i) => ({
    labels: { alertname: alertName(i), severity: 'critical', queue: `queue-${i}`, instance: 'queuescope:9640' },
    annotations: { summary: `队列 queue-${i} 积压`, description: DESCRIPTION },
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
  }));
  const res = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
  expect(res.status).toBe(200);
}

const sum = async (replicas: Sidecar[], metric: string, labels: Record<string, string>) =>
  (await Promise.all(replicas.filter((r) => r.isRunning()).map((r) => r.metric(metric, labels)))).reduce((a, b) => a + b, 0);

describe('relay replicas sharing a Redis store', () => {
  it('two replicas, Alertmanager sending to both (HA fan-out): every alert exactly once, within the limit', async () => {
    const ports = [await freePort(), await freePort()];
    const replicas = await startReplicas(2, ports);
    am = await fanOutAlertmanager(ports);
    await pushAlerts(am.port);
    await expectExactlyOnceWithinLimit(robot!);
    expect(await sum(replicas, 'queuescope_notifications_total', { outcome: 'stored' })).toBe(N);
    expect(await sum(replicas, 'queuescope_notifications_total', { outcome: 'deduplicated' })).toBe(N);
    expect(await sum(replicas, 'queuescope_notifications_total', { outcome: 'failed' })).toBe(0);
  }, 150_000);

  it('two replicas behind a round-robin load balancer: the robot never gets more than the limit in any window', async () => {
    const replicas = await startReplicas(2, []);
    const responses = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        fetch(`${replicas[i % 2]!.base}/alerts/wecom/backend`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(makePayload([makeAlert(i, { alertname: alertName(i), description: DESCRIPTION })])),
        }),
      ),
    );
    expect(responses.map((r) => r.status).filter((c) => c !== 200 && c !== 202)).toEqual([]);
    await expectExactlyOnceWithinLimit(robot!);
    // both replicas sent: whoever held the lease; both accepted half
    for (const r of replicas) expect(await r.metric('queuescope_notifications_total', { outcome: 'stored' })).toBe(N / 2);
  }, 150_000);

  it('three replicas, the sending one killed with kill -9 mid-flood: another takes over; exactly once, within the limit', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const replicas = await startReplicas(3, ports);
    am = await fanOutAlertmanager(ports);
    await pushAlerts(am.port);
    // Kill between two robot calls: a kill in the milliseconds between the robot's answer and the
    // store's update is the one window where a message can go out twice (at-least-once; README).
    await waitFor('the flood is under way, between two sends', () => robot!.delivered.length >= 5 && Date.now() - (robot!.arrivals.at(-1) ?? 0) >= 80, 30_000, 5);
    const owner = await store!.client.get(`${REDIS_STORE_PREFIX}lease:wecom/backend`);
    const holder = replicas.find((r) => owner?.split(':')[1] === String(r.pid));
    expect(holder, `lease owner ${owner}`).toBeDefined();
    expect(deliveries(robot!).size).toBeLessThan(N); // mid-flood
    await holder!.kill9();
    await expectExactlyOnceWithinLimit(robot!);
    const survivors = replicas.filter((r) => r !== holder);
    expect(await sum(survivors, 'queuescope_notification_leases_total', { outcome: 'acquired' })).toBeGreaterThanOrEqual(1);
    await waitFor('nothing left in the shared store', async () => (await store!.client.zcard(`${REDIS_STORE_PREFIX}q:wecom/backend`)) === 0, 20_000);
  }, 180_000);
});
