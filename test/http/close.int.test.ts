/**
 * Shutting down while a scrape is in flight on a keep-alive connection (as
 * Prometheus and Alertmanager keep theirs): the answer still goes out, says
 * `Connection: close`, and `close()` resolves once it has, instead of waiting
 * for the client or the 72 s keep-alive timeout (which ran a SIGTERM past the
 * 10 s grace: exit code 1).
 */
import { request, Agent } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, CLOSE_CONNECTIONS_AFTER_MS } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';

/** A Redis that accepts and never answers: a scrape waits for its deadline. */
const sockets = new Set<Socket>();
const blackhole = createServer((s) => {
  sockets.add(s);
  s.on('error', () => {});
});
let redisPort = 0;

beforeAll(async () => {
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  redisPort = (blackhole.address() as { port: number }).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => blackhole.close(r));
});

it('answers a scrape in flight with Connection: close and closes without waiting for the client', async () => {
  const config = configSchema.parse({ listen: '127.0.0.1:0', discover: [], redis: { url: `redis://127.0.0.1:${redisPort}/0` }, queues: [{ name: 'q', type: 'list', key: 'q' }] });
  const app = await buildApp(config, { log: pino({ level: 'silent' }) });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const agent = new Agent({ keepAlive: true });
  try {
    const answer = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      const req = request(`${address}/metrics`, { agent, headers: { 'x-prometheus-scrape-timeout-seconds': '1' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      });
      req.on('error', reject);
      req.end();
    });
    // The scrape is waiting for Redis when the shutdown starts.
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const closed = app.close().then(() => Date.now() - t0);
    const closedInMs = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 6000))]);
    const got = await answer;
    expect(got.status).toBe(200);
    expect(got.body).toMatch(/^redis_up 0$/m);
    expect(got.connection).toBe('close');
    // The scrape's own deadline (~1 s), not the keep-alive timeout.
    expect(closedInMs).toBeLessThan(5000);
  } finally {
    // Ends the client's connections too, so a close() still waiting for them returns.
    agent.destroy();
    await app.close();
  }
}, 15_000);

it('cuts a connection stuck in the middle of a request after a few seconds, within the shutdown grace', async () => {
  const config = configSchema.parse({ listen: '127.0.0.1:0', discover: [], redis: { url: `redis://127.0.0.1:${redisPort}/0` } });
  const app = await buildApp(config, { log: pino({ level: 'silent' }) });
  const address = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
  // Headers begun, never finished: the connection is neither idle nor answerable.
  const stuck = connect(Number(address.port), '127.0.0.1');
  const ended = new Promise<void>((r) => stuck.on('close', () => r()));
  stuck.on('error', () => {});
  await new Promise<void>((r) => stuck.once('connect', () => r()));
  stuck.write('POST /alerts/dingtalk/ops HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n');
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  const closed = app.close().then(() => Date.now() - t0);
  const closedInMs = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 9000))]);
  stuck.destroy();
  await ended;
  expect(closedInMs).toBeGreaterThanOrEqual(CLOSE_CONNECTIONS_AFTER_MS - 100);
  expect(closedInMs).toBeLessThan(CLOSE_CONNECTIONS_AFTER_MS + 2000);
  await closed;
}, 20_000);
