/**
 * End to end with the real binaries: a backlog in a real redis-server →
 * queuescope's /metrics → real Prometheus (the repository's rules, `for:`
 * shortened) → real Alertmanager (the repository's routing, intervals
 * shortened) → queuescope's relay → fake DingTalk and WeCom robots that check
 * signatures, rate and size. Then the backlog drains and the resolved
 * messages arrive. Auth is on, so Prometheus and Alertmanager must send the
 * bearer token like a real deployment would.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfigFile } from '../../src/config/load.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startFakeDingtalk, startFakeWecom, type FakeRobot } from '../relay/fake-robots.js';
import { startAlertmanager, startPrometheus, writeAlertmanagerCopy, writePrometheusCopy, type Proc } from './stack.js';

const TOKEN = 'e2e-dingtalk-token-0123456789';
const SECRET = 'SECe2eSigningSecret0123456789abcdef';
const KEY = 'e2e-wecom-key-aaaa-bbbb';
const BEARER = 'e2e-bearer-token-for-queuescope';

let dir: string;
let redis: RedisServer | undefined;
let ding: FakeRobot | undefined;
let wecom: FakeRobot | undefined;
let app: FastifyInstance | undefined;
let am: Proc | undefined;
let prom: Proc | undefined;
const logs: string[] = [];

function diagnostics(): string {
  const tail = (p: Proc | undefined) => (p ? readFileSync(p.logFile, 'utf8').split('\n').slice(-15).join('\n') : '');
  return `\n--- alertmanager ---\n${tail(am)}\n--- prometheus ---\n${tail(prom)}\n--- queuescope ---\n${logs.slice(-15).join('')}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qs-e2e-'));
  redis = await startRedis();
  ding = await startFakeDingtalk(TOKEN, { secret: SECRET });
  wecom = await startFakeWecom(KEY);
  // robot URL and secret from files, as a deployment keeping them out of the YAML would
  writeFileSync(join(dir, 'ding-url'), `${ding.url}\n`);
  writeFileSync(join(dir, 'ding-secret'), `${SECRET}\n`);
  writeFileSync(
    join(dir, 'queuescope.yaml'),
    `
logLevel: info
auth:
  bearerToken: ${BEARER}
redis:
  url: ${redis.url}
discover: []
queues:
  - name: exam-tasks
    type: list
    key: task:queue
    backlogThreshold: 5
notify:
  dingtalk:
    ops:
      urlFile: ding-url
      secretFile: ding-secret
      mention: { mobiles: ["13800000000"] }
  wecom:
    backend:
      url: ${wecom.url}
      mention: { userIds: ["zhangsan"] }
  timeZone: Asia/Shanghai
`,
  );
  const config = await loadConfigFile(join(dir, 'queuescope.yaml'), {});
  const log = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
  app = await buildApp(config, { log });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  am = await startAlertmanager(dir, writeAlertmanagerCopy(dir, { sidecarBase: `http://127.0.0.1:${port}`, bearer: BEARER }));
  prom = await startPrometheus(dir, writePrometheusCopy(dir, { sidecar: `127.0.0.1:${port}`, alertmanager: `127.0.0.1:${am.port}`, bearer: BEARER, forDuration: '1s' }));
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await am?.stop();
  await app?.close();
  await ding?.close();
  await wecom?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Opens a message's silence link against the real Alertmanager: the UI page
 * answers, the link's `filter` (`{a="b",…}`) parses into matchers that select
 * exactly the firing alert through `GET /api/v2/alerts?filter=…`, and a
 * silence created from them (`POST /api/v2/silences`) silences it.
 */
async function checkSilenceLink(link: string, alertname: string): Promise<void> {
  const url = new URL(link);
  expect((await fetch(`${url.origin}${url.pathname}`)).status).toBe(200);
  const filter = new URLSearchParams(url.hash.slice(url.hash.indexOf('?') + 1)).get('filter') ?? '';
  expect(filter).toMatch(/^\{.*\}$/);
  const matchers = [...filter.slice(1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => ({ name: m[1]!, value: JSON.parse(`"${m[2]!}"`) as string }));
  expect(matchers.find((m) => m.name === 'alertname')?.value).toBe(alertname);
  const am = `http://127.0.0.1:${url.port}/api/v2`;
  const query = matchers.map((m) => `filter=${encodeURIComponent(`${m.name}="${m.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)}`).join('&');
  type AmAlert = { labels: Record<string, string>; status: { state: string; silencedBy: string[] } };
  const selected = (await (await fetch(`${am}/alerts?${query}`)).json()) as AmAlert[];
  expect(selected.length).toBe(1);
  expect(selected[0]!.labels).toEqual(Object.fromEntries(matchers.map((m) => [m.name, m.value])));
  const now = Date.now();
  const post = await fetch(`${am}/silences`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ matchers: matchers.map((m) => ({ ...m, isRegex: false, isEqual: true })), startsAt: new Date(now).toISOString(), endsAt: new Date(now + 600_000).toISOString(), createdBy: 'e2e', comment: 'from the chat link' }),
  });
  expect(post.status).toBe(200);
  const { silenceID } = (await post.json()) as { silenceID: string };
  await waitFor('the alert silenced', async () => {
    const [a] = (await (await fetch(`${am}/alerts?${query}&silenced=true`)).json()) as AmAlert[];
    return a?.status.silencedBy.includes(silenceID);
  }, 10_000, 100);
  // lift it again: the rest of the test expects the alert's notifications
  expect((await fetch(`${am}/silence/${silenceID}`, { method: 'DELETE' })).status).toBe(200);
}

const containsAll = (robot: FakeRobot, ...parts: string[]) => () => robot.delivered.find((d) => parts.every((p) => d.text.includes(p)));

describe('alerting end to end', () => {
  it('a backlog produces signed DingTalk and WeCom messages naming the queue, and draining it the resolved ones', async () => {
    // Prometheus scrapes the sidecar (with the bearer token) and sees the threshold
    await waitFor('Prometheus scraping queuescope', async () => {
      const r = await fetch(`http://127.0.0.1:${prom!.port}/api/v1/query?query=${encodeURIComponent('queue_backlog_threshold{queue="exam-tasks"}')}`);
      const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result[0]?.value[1] === '5';
    }, 20_000, 200).catch((e: Error) => {
      throw new Error(e.message + diagnostics());
    });

    // 20 waiting tasks: over twice the threshold of 5 → QueueBacklogHigh critical (DingTalk + WeCom) and warning
    await redis!.client.rpush('task:queue', ...Array.from({ length: 20 }, (_, i) => `task-${i}`));

    const firingDing = await waitFor('a firing DingTalk message naming exam-tasks', containsAll(ding!, '告警', 'QueueBacklogHigh', '队列：exam-tasks'), 30_000, 100).catch((e: Error) => {
      throw new Error(e.message + diagnostics());
    });
    expect(firingDing.query.get('timestamp')).toMatch(/^\d{13}$/);
    expect(firingDing.query.get('sign')).toBeTruthy(); // verified with openssl by the fake robot
    expect(firingDing.text).toContain('严重积压 20 条'); // the rule's summary, rendered by Prometheus
    expect(firingDing.text).toContain('@13800000000');
    expect(firingDing.body.at).toMatchObject({ atMobiles: ['13800000000'] });
    // the message's silence link opens the real Alertmanager's "New silence" form pre-filled with this alert's labels
    const silence = /\[静默\]\((http[^)\s]+)\)/.exec(firingDing.text)?.[1];
    expect(silence, firingDing.text).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${am!.port}/#/silences/new\\?filter=`));
    await checkSilenceLink(silence!, 'QueueBacklogHigh');
    const firingWecom = await waitFor('a firing WeCom message naming exam-tasks', containsAll(wecom!, '告警', 'QueueBacklogHigh', '队列：exam-tasks'), 30_000, 100);
    expect(firingWecom.text).toContain('<@zhangsan>');

    // drain: the resolved messages follow
    await redis!.client.del('task:queue');
    const resolvedDing = await waitFor('a resolved DingTalk message', containsAll(ding!, '✅ 恢复', '队列：exam-tasks', '恢复：'), 30_000, 100).catch((e: Error) => {
      throw new Error(e.message + diagnostics());
    });
    expect(resolvedDing.query.get('sign')).toBeTruthy();
    expect(resolvedDing.text).not.toContain('@13800000000');
    await waitFor('a resolved WeCom message', containsAll(wecom!, '✅ 恢复', '队列：exam-tasks'), 30_000, 100);

    // the robots never refused anything, and nothing secret reached the logs
    expect(ding!.refused).toEqual([]);
    expect(wecom!.refused).toEqual([]);
    const allLogs = logs.join('');
    for (const s of [TOKEN, SECRET, KEY, BEARER]) expect(allLogs).not.toContain(s);
    // the relay counted what it sent, visible on /metrics (with the token)
    const metrics = await (await fetch(`http://127.0.0.1:${(app!.server.address() as { port: number }).port}/metrics`, { headers: { authorization: `Bearer ${BEARER}` } })).text();
    expect(metrics).toMatch(/queuescope_notifications_total\{channel="dingtalk",target="ops",outcome="sent"\} [1-9]/);
    const unauth = await fetch(`http://127.0.0.1:${(app!.server.address() as { port: number }).port}/metrics`);
    expect(unauth.status).toBe(401);
  }, 90_000);

  it('the shipped inhibitions hold in the real Alertmanager: QueuescopeRedisDown mutes queue alerts of its instance, critical mutes warning', async () => {
    const amUrl = `http://127.0.0.1:${am!.port}/api/v2/alerts`;
    const alert = (labels: Record<string, string>) => ({ labels: { job: 'queuescope', ...labels }, annotations: { summary: 'injected' }, startsAt: new Date().toISOString() });
    const post = await fetch(amUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        alert({ alertname: 'QueuescopeRedisDown', instance: 'inhib:9640', severity: 'critical' }),
        alert({ alertname: 'QueueBacklogHigh', instance: 'inhib:9640', queue: 'iq', framework: 'list', severity: 'warning' }),
        alert({ alertname: 'QueueLatencyHigh', instance: 'other:9640', queue: 'lq', framework: 'list', severity: 'warning' }),
        alert({ alertname: 'QueueLatencyHigh', instance: 'other:9640', queue: 'lq', framework: 'list', severity: 'critical' }),
        alert({ alertname: 'QueueLatencyHigh', instance: 'other:9640', queue: 'lq2', framework: 'list', severity: 'warning' }),
      ]),
    });
    expect(post.status).toBe(200);
    type AmAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    const find = (list: AmAlert[], q: Record<string, string>) => list.find((a) => Object.entries(q).every(([k, v]) => a.labels[k] === v));
    const list = await waitFor('inhibition states', async () => {
      const all = (await (await fetch(amUrl)).json()) as AmAlert[];
      const muted = find(all, { alertname: 'QueueBacklogHigh', queue: 'iq' });
      const warn = find(all, { alertname: 'QueueLatencyHigh', queue: 'lq', severity: 'warning' });
      return muted?.status.inhibitedBy.length && warn?.status.inhibitedBy.length ? all : undefined;
    }, 15_000, 100);
    expect(find(list, { alertname: 'QueueBacklogHigh', queue: 'iq' })!.status.state).toBe('suppressed');
    expect(find(list, { alertname: 'QueueLatencyHigh', queue: 'lq', severity: 'warning' })!.status.state).toBe('suppressed');
    expect(find(list, { alertname: 'QueueLatencyHigh', queue: 'lq', severity: 'critical' })!.status.state).toBe('active');
    expect(find(list, { alertname: 'QueueLatencyHigh', queue: 'lq2' })!.status.state).toBe('active');
    expect(find(list, { alertname: 'QueuescopeRedisDown' })!.status.state).toBe('active');
    // and the unmuted ones reach the robots through the relay
    await waitFor('QueuescopeRedisDown relayed to DingTalk', containsAll(ding!, 'QueuescopeRedisDown', 'inhib:9640'), 20_000, 100);
    await waitFor('the lq2 warning relayed to WeCom', containsAll(wecom!, 'QueueLatencyHigh', 'lq2'), 20_000, 100);
    expect(ding!.refused).toEqual([]);
    expect(wecom!.refused).toEqual([]);
  }, 60_000);
});
