import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/config/schema.js';
import { isAuthorized, registerAuth, safeEqual } from '../../src/http/auth.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const TOKEN = 's3cr3t-bearer-token-value';
const PASSWORD = 'pa55-w0rd-value';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function build(auth: AuthConfig | undefined): Promise<FastifyInstance> {
  const a = Fastify();
  registerAuth(a, auth);
  a.get('/metrics', async () => 'metrics');
  a.get('/-/healthy', async () => 'ok');
  a.get('/-/ready', async () => 'ok');
  a.post('/alerts/dingtalk/:target', async () => ({ status: 'sent' }));
  await a.ready();
  return a;
}

describe('auth', () => {
  it('without auth config every route is open', async () => {
    app = await build(undefined);
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(200);
    const a = await build({});
    expect((await a.inject({ url: "/metrics" })).statusCode).toBe(200);
    await a.close();
  });

  it('bearer: /metrics and the relay need the token; health and readiness do not', async () => {
    app = await build({ bearerToken: TOKEN });
    const none = await app.inject({ url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="queuescope"');
    expect((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}x` } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: basic('x', TOKEN) } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/alerts/dingtalk/ops', payload: {} })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/alerts/dingtalk/ops', payload: {}, headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/-/healthy' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/-/ready?x=1' })).statusCode).toBe(200);
    // unknown routes are not a way to probe without credentials
    expect((await app.inject({ url: '/nope' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/-/healthy/../metrics' })).statusCode).toBe(401);
  });

  it('basic: the right user and password only; the challenge names Basic', async () => {
    app = await build({ basic: { username: 'prom', password: PASSWORD } });
    const none = await app.inject({ url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="queuescope", charset="UTF-8"');
    expect((await app.inject({ url: '/metrics', headers: { authorization: basic('prom', PASSWORD) } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics', headers: { authorization: basic('prom', 'wrong') } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: basic('other', PASSWORD) } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: 'Basic !!!not-base64' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: 'Basic' } })).statusCode).toBe(401);
  });

  it('both configured: either scheme works, and both challenges are offered', async () => {
    app = await build({ bearerToken: TOKEN, basic: { username: 'prom', password: PASSWORD } });
    const none = await app.inject({ url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.rawPayload.toString()).not.toContain(TOKEN);
    expect(none.rawPayload.toString()).not.toContain(PASSWORD);
    expect(String(none.headers['www-authenticate'])).toContain('Bearer');
    expect(String(none.headers['www-authenticate'])).toContain('Basic');
    expect((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics', headers: { authorization: basic('prom', PASSWORD) } })).statusCode).toBe(200);
  });

  it('compares in constant time whatever the lengths', () => {
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'ab')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
    expect(isAuthorized({ basic: { username: 'u' } }, basic('u', ''))).toBe(true);
    expect(isAuthorized({ basic: { username: 'u' } }, undefined)).toBe(false);
  });
});
