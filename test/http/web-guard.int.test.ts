/**
 * `--web.config.file` with real TLS clients: curl (mTLS, bcrypt basic auth,
 * the config's bearer token beside it, headers, TLS version floor), Node's
 * TLS client for certificate rotation, and the real Prometheus scraping the
 * sidecar over https with basic auth and a client certificate. Certificates
 * are made with openssl at test time.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfigFile } from '../../src/config/load.js';
import { WebGuard } from '../../src/http/web-guard.js';
import { startPrometheus, type Proc } from '../alerting/stack.js';
import { findBinary } from '../helpers/binaries.js';
import { issue, makePki, type TestPki } from '../helpers/certs.js';
import { waitFor } from '../helpers/ports.js';

const run = promisify(execFile);
const PASSWORD = 'scrape-password-0123';
const BEARER = 'config-auth-bearer-token-42';

let dir: string;
let pki: TestPki;
let app: FastifyInstance | undefined;
let prom: Proc | undefined;
let base = '';
let port = 0;
const logs: string[] = [];

function webConfig(extra = ''): string {
  // htpasswd writes $2y$; bcryptjs writes $2b$: the file takes either
  const hash = bcrypt.hashSync(PASSWORD, 10).replace(/^\$2b\$/, '$2y$');
  return `tls_server_config:
  cert_file: server.pem
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
${extra}http_server_config:
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: "${hash}"
`;
}

async function curl(args: string[]): Promise<{ code: number; status: number; body: string; headers: string }> {
  const curlBin = findBinary('curl', 'curl');
  try {
    const { stdout } = await run(curlBin, ['-sS', '--max-time', '10', '-D', '-', '--cacert', pki.caFile, ...args], { encoding: 'utf8' });
    const split = stdout.indexOf('\r\n\r\n');
    const headers = stdout.slice(0, split);
    return { code: 0, status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1] ?? 0), body: stdout.slice(split + 4), headers };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, status: 0, body: e.stderr ?? '', headers: '' };
  }
}
const withClient = ['--cert', '', '--key', ''];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qs-web-'));
  pki = makePki(dir);
  withClient.splice(0, 4, '--cert', pki.clientCert, '--key', pki.clientKey);
  writeFileSync(join(dir, 'web.yml'), webConfig());
  writeFileSync(join(dir, 'queuescope.yaml'), `auth:\n  bearerToken: ${BEARER}\nredis:\n  url: redis://127.0.0.1:1/0\ndiscover: []\n`);
  const log = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
  const config = await loadConfigFile(join(dir, 'queuescope.yaml'), {});
  app = await buildApp(config, { log, web: new WebGuard(join(dir, 'web.yml'), log) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
  base = `https://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('--web.config.file with real TLS clients', () => {
  it('curl with the client certificate and the bcrypt password gets the metrics and the configured headers', async () => {
    const r = await curl([...withClient, '-u', `prometheus:${PASSWORD}`, `${base}/metrics`]);
    expect(r.code, r.body).toBe(0);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^redis_up [01]$/m);
    expect(r.headers).toMatch(/x-frame-options: deny/i);
    expect(r.headers).toMatch(/x-content-type-options: nosniff/i);
  });

  it('the handshake fails without a client certificate, or with one from another CA', async () => {
    expect((await curl(['-u', `prometheus:${PASSWORD}`, `${base}/metrics`])).code).not.toBe(0);
    expect((await curl(['--cert', pki.strangerCert, '--key', pki.strangerKey, '-u', `prometheus:${PASSWORD}`, `${base}/metrics`])).code).not.toBe(0);
  });

  it('a wrong password is 401 with a Basic challenge; the config\'s bearer token still works; /-/healthy needs no credentials', async () => {
    const wrong = await curl([...withClient, '-u', 'prometheus:nope', `${base}/metrics`]);
    expect(wrong.status).toBe(401);
    expect(wrong.headers).toMatch(/www-authenticate: Basic realm="queuescope"/i);
    expect(wrong.body).not.toContain('nope');
    const unknown = await curl([...withClient, '-u', `someone:${PASSWORD}`, `${base}/metrics`]);
    expect(unknown.status).toBe(401);
    const bearer = await curl([...withClient, '-H', `Authorization: Bearer ${BEARER}`, `${base}/metrics`]);
    expect(bearer.status).toBe(200);
    const healthy = await curl([...withClient, `${base}/-/healthy`]);
    expect(healthy.status).toBe(200);
  });

  it('TLS 1.2 is the default floor; a changed file (min_version TLS13) applies to the next connection', async () => {
    const tls12 = ['--tlsv1.2', '--tls-max', '1.2', ...withClient, '-u', `prometheus:${PASSWORD}`, `${base}/-/healthy`];
    expect((await curl(tls12)).status).toBe(200);
    expect((await curl(['--tlsv1.1', '--tls-max', '1.1', ...withClient, `${base}/-/healthy`])).code).not.toBe(0);
    writeFileSync(join(dir, 'web.yml'), webConfig('  min_version: TLS13\n'));
    await waitFor('TLS 1.2 refused after the reload', async () => (await curl(tls12)).code !== 0, 10_000, 100);
    expect((await curl(['--tlsv1.3', ...withClient, `${base}/-/healthy`])).status).toBe(200);
    writeFileSync(join(dir, 'web.yml'), webConfig());
    await waitFor('TLS 1.2 accepted again', async () => (await curl(tls12)).status === 200, 10_000, 100);
  });

  it('a rotated certificate is served from the next handshake on, without a restart', async () => {
    const peerCN = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, ca: [readFileSync(pki.caFile)], cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), servername: 'localhost' }, () => {
          const cn = s.getPeerCertificate().subject.CN;
          s.end();
          resolve(String(cn));
        });
        s.on('error', reject);
      });
    expect(await peerCN()).toBe('queuescope');
    const rotated = issue(dir, 'rotated', '/CN=queuescope-rotated', { ca: join(dir, 'ca'), san: 'IP:127.0.0.1,DNS:localhost', usage: 'serverAuth' });
    copyFileSync(rotated.key, pki.serverKey);
    copyFileSync(rotated.cert, pki.serverCert);
    await waitFor('the rotated certificate served', async () => (await peerCN()) === 'queuescope-rotated', 10_000, 100);
    expect(logs.join('')).toContain('web config reloaded');
  });

  it('a key that does not match the certificate (a rotation half written) is refused; the server keeps serving', async () => {
    const good = readFileSync(pki.serverKey);
    const stray = issue(dir, 'stray', '/CN=stray');
    copyFileSync(stray.key, pki.serverKey);
    await waitFor('the refusal logged', async () => {
      await curl([...withClient, `${base}/-/healthy`]);
      return logs.join('').includes('cannot be used');
    }, 10_000, 100);
    expect((await curl([...withClient, `${base}/-/healthy`])).status).toBe(200);
    writeFileSync(pki.serverKey, good);
  });

  it('the real Prometheus scrapes the sidecar over https with bcrypt basic auth and a client certificate', async () => {
    writeFileSync(join(dir, 'password'), PASSWORD);
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(
      cfg,
      `global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: queuescope
    scheme: https
    tls_config: { ca_file: ${pki.caFile}, cert_file: ${pki.clientCert}, key_file: ${pki.clientKey} }
    basic_auth: { username: prometheus, password_file: ${join(dir, 'password')} }
    static_configs: [{ targets: ["127.0.0.1:${port}"] }]
  - job_name: no-client-cert
    scheme: https
    tls_config: { ca_file: ${pki.caFile} }
    basic_auth: { username: prometheus, password_file: ${join(dir, 'password')} }
    static_configs: [{ targets: ["127.0.0.1:${port}"] }]
`,
    );
    prom = await startPrometheus(dir, cfg);
    const query = async (q: string) => ((await (await fetch(`http://127.0.0.1:${prom!.port}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { value: [number, string] }[] } }).data.result;
    await waitFor('Prometheus scraped queuescope over mTLS', async () => (await query('up{job="queuescope"}'))[0]?.value[1] === '1', 20_000, 200);
    expect((await query('queuescope_build_info{job="queuescope"}'))[0]?.value[1]).toBe('1');
    await waitFor('the job without a client certificate is down', async () => (await query('up{job="no-client-cert"}'))[0]?.value[1] === '0', 20_000, 200);
    // nothing secret in the sidecar's log
    expect(logs.join('')).not.toContain(PASSWORD);
  }, 60_000);
});
