import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/durations.js';
import { parseConfigText } from '../../src/config/load.js';
import { redactUrl, renderEffectiveConfig } from '../../src/config/redact.js';
import { DEFAULT_DISCOVERY, type Config } from '../../src/config/schema.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'queuescope-redact-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function parse(text: string, env: NodeJS.ProcessEnv = {}): Config {
  return parseConfigText(text, { file: 'queuescope.yaml', env, baseDir: tmp });
}

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [500, '500ms'],
    [1500, '1500ms'],
    [5000, '5s'],
    [60_000, '1m'],
    [90_000, '90s'],
    [300_000, '5m'],
    [3_600_000, '1h'],
    [5_400_000, '90m'],
    [86_400_000, '24h'],
  ])('%d ms -> %s, and back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('redactUrl', () => {
  test.each([
    ['redis://:hunter2@redis.local:6379/0', 'redis://:<secret>@redis.local:6379/0'],
    ['rediss://default:hunter2@redis.local:6380/1', 'rediss://default:<secret>@redis.local:6380/1'],
    ['mysql://exporter:hunter2@db:3306/', 'mysql://exporter:<secret>@db:3306/'],
    ['mysql://exporter@db:3306/', 'mysql://exporter@db:3306/'],
    ['redis://127.0.0.1:6379/0', 'redis://127.0.0.1:6379/0'],
    ['redis://:p%40ss@h:6379', 'redis://:<secret>@h:6379'],
    // unencoded '@', '/', '?', '#' in the password: hide everything up to the last '@'
    ['redis://:p@ss/w?rd#x@h:6379/0', 'redis://:<secret>@h:6379/0'],
    ['redis://h:6379/0?password=hunter2&db=1', 'redis://h:6379/0?password=<secret>&db=1'],
    ['https://oapi.dingtalk.com/robot/send?access_token=abc123', 'https://oapi.dingtalk.com/robot/send?access_token=<secret>'],
    ['https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-123&debug=1', 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<secret>&debug=1'],
    ['https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1&sign=xyz', 'https://oapi.dingtalk.com/robot/send?access_token=<secret>&timestamp=1&sign=<secret>'],
    // an '@' in an http query is data, not credentials
    ['http://grafana:3000/d/x?var-user=a@b.c', 'http://grafana:3000/d/x?var-user=a@b.c'],
    ['https://user:pw@grafana.local/', 'https://user:<secret>@grafana.local/'],
    ['not a url', 'not a url'],
    ['', ''],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('renderEffectiveConfig', () => {
  const SECRETS = {
    QUEUESCOPE_TOKEN: 'bearer-Zq81',
    BASIC_PW: 'basic-Pw77',
    REDIS_PW: 'redis-Pw42',
    REDIS_URL_PW: 'urlPw-Xy9',
    SENTINEL_PW: 'sentinel-Pw5',
    MYSQL_PW: 'mysql-Pw61',
    MYSQL_FIELD_PW: 'mysqlField-Pw3',
    MODULE_PW: 'module-Pw8',
    DINGTALK_TOKEN: 'dtTok0a1b2c3',
    DINGTALK_SECRET: 'SECdd1234abcd',
    WECOM_KEY: 'wk-693b-4f0e',
  };

  test('shows no secret, anywhere, and marks each as <secret>', () => {
    writeFileSync(join(tmp, 'redis-pw'), `${SECRETS.REDIS_PW}\n`);
    writeFileSync(join(tmp, 'ding-secret'), `${SECRETS.DINGTALK_SECRET}\n`);
    const text = `
auth:
  bearerToken: \${QUEUESCOPE_TOKEN}
  basic: { username: prom, password: "\${BASIC_PW}" }
redis:
  url: redis://admin:\${REDIS_URL_PW}@redis.local:6379/0
  passwordFile: redis-pw
  sentinel: { masterName: m, nodes: ["10.0.0.1:26379"], password: "\${SENTINEL_PW}" }
mysql:
  url: mysql://exporter:\${MYSQL_PW}@127.0.0.1:3306/
  password: \${MYSQL_FIELD_PW}
modules:
  exam:
    redis: { password: "\${MODULE_PW}" }
notify:
  dingtalk:
    ops:
      url: https://oapi.dingtalk.com/robot/send?access_token=\${DINGTALK_TOKEN}
      secretFile: ding-secret
  wecom:
    backend:
      url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=\${WECOM_KEY}
`;
    // sentinel + url would be refused; render the two separately
    const withUrl = parse(text.replace(/ {2}sentinel:.*\n/, ''), SECRETS);
    const withSentinel = parse(text.replace(/ {2}url: redis:.*\n/, ''), SECRETS);
    for (const config of [withUrl, withSentinel]) {
      const out = renderEffectiveConfig(config);
      for (const [name, secret] of Object.entries(SECRETS)) {
        if (name === 'REDIS_URL_PW' && config === withSentinel) continue;
        expect(out, `${name} leaked`).not.toContain(secret);
        // nor a recognisable piece of it
        expect(out).not.toContain(secret.slice(-5));
      }
      expect(out).toContain('bearerToken: <secret>');
      expect(out).toContain('url: mysql://exporter:<secret>@127.0.0.1:3306/');
      expect(out).toContain('url: https://oapi.dingtalk.com/robot/send?access_token=<secret>');
      expect(out).toContain('url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<secret>');
      expect(out).toContain('secret: <secret>');
      expect(out).not.toContain('File:');
    }
    expect(renderEffectiveConfig(withUrl)).toContain('url: redis://admin:<secret>@redis.local:6379/0');
    expect(renderEffectiveConfig(withSentinel)).toMatch(/\n {2}sentinel:\n( {4}.*\n)*? {4}password: <secret>\n/);
  });

  test('durations print back as strings and the output parses to the same config', () => {
    const config = parse(`
scrape: { timeout: 4s, cacheFor: 500ms, discoveryInterval: 2m }
redis: { connectTimeout: 1500ms, commandTimeout: 3s }
mysql: { url: "mysql://exporter@db/", timeout: 2s }
queues:
  - { name: exam, type: list, key: task:queue, windows: [1m, 90m, 1h], latencyThreshold: 10m }
  - { type: stream, key: s }
discover:
  - { framework: celery, latencyThreshold: 30s }
components:
  - { name: c, heartbeat: c:hb, staleAfter: 45s }
modules:
  m:
    components: [{ name: d, heartbeat: d:hb, staleAfter: 1h }]
notify:
  rateLimit: 5/s
  timeout: 2500ms
`);
    const out = renderEffectiveConfig(config);
    expect(out).toContain('  timeout: 4s\n  cacheFor: 500ms\n  discoveryInterval: 2m\n');
    expect(out).toContain('  connectTimeout: 1500ms\n  commandTimeout: 3s\n');
    expect(out).toContain('windows: [1m, 90m, 1h]');
    expect(out).toContain('latencyThreshold: 10m');
    expect(out).toContain('staleAfter: 45s');
    expect(out).toContain('staleAfter: 1h');
    expect(out).toContain('rateLimit: 5/s');
    expect(out).toContain('timeout: 2500ms');
    expect(out).toMatch(/^queues:\n {2}- name: exam\n {4}type: list\n {4}key: task:queue\n/m);
    expect(parse(out)).toEqual(config);
  });

  test('absent discover is shown as the built-in list, with a comment, and means the same when read back', () => {
    const config = parse('');
    const out = renderEffectiveConfig(config);
    expect(out).toContain('# discover: not set, so the built-in discovery of every framework applies\ndiscover:\n');
    expect(out).toContain('rateLimit: 20/min');
    expect(out).toContain('cacheFor: 0s');
    expect(out).not.toContain('mysql:');
    expect(parse(out)).toEqual({ ...config, discover: DEFAULT_DISCOVERY });
  });
});
