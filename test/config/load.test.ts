import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError, formatConfigIssue, formatKeyPath, isConfigError } from '../../src/config/errors.js';
import { BUILT_IN_DEFAULTS, loadConfigFile, parseConfigText, resolveConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

const fixtures = fileURLToPath(new URL('./fixtures/valid/', import.meta.url));
const tlsFixtures = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));

function parse(text: string, env: NodeJS.ProcessEnv = {}, baseDir = '/etc/queuescope'): Config {
  return parseConfigText(text, { file: 'queuescope.yaml', env, baseDir });
}

/** The ConfigError message `fn` throws (fails the test if it does not throw one). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

async function asyncErrorOf(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'queuescope-config-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('errors', () => {
  test('key paths use a.b[2].c notation and quote odd keys', () => {
    expect(formatKeyPath(['queues', 2, 'windows', 0])).toBe('queues[2].windows[0]');
    expect(formatKeyPath(['notify', 'dingtalk', 'ops-team', 'url'])).toBe('notify.dingtalk.ops-team.url');
    expect(formatKeyPath(['modules', 'a b', 'queues'])).toBe('modules["a b"].queues');
    expect(formatKeyPath([])).toBe('');
  });

  test('issues render as file:line: path: message, omitting what is absent', () => {
    expect(formatConfigIssue({ file: 'q.yaml', line: 3, path: 'listen', message: 'bad' })).toBe('q.yaml:3: listen: bad');
    expect(formatConfigIssue({ file: '$QUEUESCOPE_LISTEN', path: 'listen', message: 'bad' })).toBe('$QUEUESCOPE_LISTEN: listen: bad');
    expect(formatConfigIssue({ file: 'q.yaml', line: 1, path: '', message: 'invalid YAML' })).toBe('q.yaml:1: invalid YAML');
    const err = new ConfigError([
      { file: 'q.yaml', line: 1, path: 'a', message: 'one' },
      { file: 'q.yaml', line: 2, path: 'b', message: 'two' },
    ]);
    expect(err.message).toBe('q.yaml:1: a: one\nq.yaml:2: b: two');
    expect(err.exitCode).toBe(2);
    expect(isConfigError(err)).toBe(true);
    expect(isConfigError(new Error('x'))).toBe(false);
  });
});

describe('valid configs', () => {
  test('an empty file, or one with only comments, yields the defaults', () => {
    for (const text of ['', '\n', '# nothing here\n', '---\n']) {
      const config = parse(text);
      expect(config.listen).toBe('0.0.0.0:9640');
      expect(config.logLevel).toBe('info');
      expect(config.redis.url).toBe('redis://127.0.0.1:6379/0');
      expect(config.redis.connectTimeout).toBe(2000);
      expect(config.scrape).toEqual({ timeout: 5000, cacheFor: 0, discoveryInterval: 60_000, scanCount: 500, maxQueues: 5000 });
      expect(config.mysql).toBeUndefined();
      expect(config.auth).toBeUndefined();
      // absent = built-in discovery of every framework, decided by discovery, not here
      expect(config.discover).toBeUndefined();
      expect(config.queues).toEqual([]);
      expect(config.notify).toEqual({
        dingtalk: {},
        wecom: {},
        rateLimit: { count: 20, windowMs: 60_000 },
        timeout: 5000,
        timeZone: 'Asia/Shanghai',
        store: { path: '/etc/queuescope/data/outbox', redis: '', allowMonitoredRedis: false, maxBytes: 64 * 1024 * 1024 },
      });
    }
  });

  test('the complete example of config.md parses to the documented meaning', () => {
    const text = readFileSync(join(fixtures, 'config-md-example.yaml'), 'utf8');
    const env = {
      QUEUESCOPE_TOKEN: 'tok-123456',
      MYSQL_PASSWORD: 'my-pw',
      DINGTALK_TOKEN: 'ding-tok',
      DINGTALK_SECRET: 'SECding',
      WECOM_KEY: 'wecom-key',
    };
    const config = parse(text, env);
    expect(config).toEqual({
      listen: '0.0.0.0:9640',
      logLevel: 'info',
      ui: { grafanaUrl: '', rateWindow: 60_000, payloads: 'show' },
      auth: { bearerToken: 'tok-123456' },
      scrape: { timeout: 5000, cacheFor: 0, discoveryInterval: 60_000, scanCount: 500, maxQueues: 5000 },
      redis: {
        url: 'redis://127.0.0.1:6379/0',
        username: '',
        password: '',
        connectTimeout: 2000,
        commandTimeout: 2000,
        tls: { ca: '', cert: '', key: '', servername: '', insecureSkipVerify: false },
        maxBulkBytes: 16 * 1024 * 1024,
        maxReplyBytes: 64 * 1024 * 1024,
        maxReplyElements: 1_000_000,
      },
      mysql: { url: 'mysql://exporter:my-pw@127.0.0.1:3306/', timeout: 2000, processlist: true },
      queues: [
        {
          name: 'exam-tasks',
          type: 'list',
          key: 'task:queue',
          oldestAt: 'head',
          details: 'task:details',
          done: 'task:done',
          failed: 'task:failed',
          // `""` in config.md means "not used"
          processedCounter: undefined,
          failedCounter: undefined,
          timeline: 'task:timeline',
          windows: [60_000, 300_000, 600_000, 3_600_000],
          backlogThreshold: 1000,
          latencyThreshold: 300_000,
        },
        {
          name: 'task_stream',
          type: 'stream',
          key: 'task_stream',
          groups: [],
          retry: 'task_stream:retry',
          dead: 'task_stream:dlq',
          consumers: true,
          backlogThreshold: 1000,
          latencyThreshold: 300_000,
        },
        { name: 'delayed-jobs', type: 'zset', key: 'jobs:delayed', backlogThreshold: 1000, latencyThreshold: 300_000 },
      ],
      discover: [
        { framework: 'asynq', backlogThreshold: 1000, latencyThreshold: 300_000 },
        { framework: 'bullmq', prefix: 'bull', backlogThreshold: 1000, latencyThreshold: 300_000 },
        { framework: 'sidekiq', namespace: '', backlogThreshold: 1000, latencyThreshold: 300_000 },
        { framework: 'celery', queues: ['celery'], prioritySteps: [0, 3, 6, 9], sep: '\x06\x16', globalKeyprefix: '', backlogThreshold: 1000, latencyThreshold: 300_000 },
        { framework: 'rq', backlogThreshold: 1000, latencyThreshold: 300_000 },
        { framework: 'stream', match: '*stream*', consumers: true, backlogThreshold: 1000, latencyThreshold: 300_000 },
        { framework: 'list', match: 'queue:*', oldestAt: 'head', backlogThreshold: 1000, latencyThreshold: 300_000 },
      ],
      components: [
        { name: 'simulator', heartbeat: 'simulator:heartbeat', staleAfter: 30_000, total: 'simulator:written:total' },
        {
          name: 'consumer',
          heartbeat: 'consumer:heartbeat',
          staleAfter: 30_000,
          total: 'consumer:processed:total',
          lastDuration: 'consumer:last_duration',
          durations: 'consumer:durations',
        },
      ],
      modules: {
        exam: {
          allowTargets: [],
          queues: [],
          discover: [],
          components: [],
          // passwordFile: "" means "not used" and is dropped
          redis: { username: '', password: '', tls: { ca: '', cert: '', key: '', servername: '', insecureSkipVerify: false } },
        },
      },
      probe: { allowTargets: [] },
      notify: {
        dingtalk: {
          ops: {
            url: 'https://oapi.dingtalk.com/robot/send?access_token=ding-tok',
            secret: 'SECding',
            mention: { mobiles: [], userIds: [], all: false },
            template: '',
          },
        },
        wecom: {
          backend: {
            url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key',
            mention: { mobiles: [], userIds: [], all: false },
            template: '',
          },
        },
        rateLimit: { count: 20, windowMs: 60_000 },
        timeout: 5000,
        timeZone: 'Asia/Shanghai',
        store: { path: '/etc/queuescope/data/outbox', redis: '', allowMonitoredRedis: false, maxBytes: 64 * 1024 * 1024 },
      },
    });
  });

  test('every key of config.md with non-default values, *File secrets and relative paths', () => {
    const base = join(tmp, 'conf');
    mkdirSync(join(base, 'secrets'), { recursive: true });
    writeFileSync(join(base, 'secrets/basic-password'), 'basic-pw\n');
    writeFileSync(join(base, 'secrets/redis-password'), '  redis-pw  \n');
    writeFileSync(join(base, 'secrets/mysql-password'), 'mysql-pw');
    writeFileSync(join(base, 'secrets/dingtalk-url'), 'https://oapi.dingtalk.com/robot/send?access_token=ding-from-file\n');
    writeFileSync(join(base, 'secrets/dingtalk-secret'), 'SECfromfile\n');
    // The TLS files must exist and be usable (issue 10 #7); the key sits at an absolute path.
    mkdirSync(join(base, 'tls'));
    mkdirSync(join(tmp, 'abs'));
    copyFileSync(join(tlsFixtures, 'ca.pem'), join(base, 'tls/ca.pem'));
    copyFileSync(join(tlsFixtures, 'ca.pem'), join(base, 'tls/probe-ca.pem'));
    copyFileSync(join(tlsFixtures, 'client.pem'), join(base, 'tls/client.pem'));
    const absKey = join(tmp, 'abs', 'client.key');
    copyFileSync(join(tlsFixtures, 'client.key'), absKey);
    const text = readFileSync(join(fixtures, 'every-key.yaml'), 'utf8');
    const config = parseConfigText(text, {
      file: 'every-key.yaml',
      env: { SENTINEL_PASSWORD: 'sentinel-pw', WECOM_KEY: 'wk', TLS_KEY_PATH: absKey },
      baseDir: base,
    });

    expect(config.listen).toBe('127.0.0.1:19640');
    expect(config.logLevel).toBe('debug');
    expect(config.ui).toEqual({ grafanaUrl: 'http://grafana.local:3000', rateWindow: 120_000, payloads: 'hide' });
    expect(config.auth).toEqual({ basic: { username: 'prom', password: 'basic-pw' } });
    expect(config.scrape).toEqual({ timeout: 4000, cacheFor: 500, discoveryInterval: 120_000, scanCount: 1000, maxQueues: 100 });
    expect(config.redis).toMatchObject({
      url: 'redis://127.0.0.1:6379/0',
      username: 'exporter',
      password: 'redis-pw',
      connectTimeout: 1500,
      commandTimeout: 3000,
      tls: {
        ca: join(base, 'tls/ca.pem'),
        cert: join(base, 'tls/client.pem'),
        key: absKey,
        servername: 'redis.local',
        insecureSkipVerify: true,
      },
      sentinel: { masterName: 'mymaster', nodes: ['10.0.0.1:26379', '[::1]:26380'], password: 'sentinel-pw' },
    });
    expect(config.mysql).toEqual({ url: 'mysql://exporter@127.0.0.1:3306/', password: 'mysql-pw', timeout: 3000, processlist: false });
    expect(config.queues.map((q) => q.name ?? q.key)).toEqual(['exam-tasks', 'counted', 'task_stream', 'jobs:delayed']);
    expect(config.queues[0]).toMatchObject({ oldestAt: 'tail', windows: [30_000, 5_400_000], backlogThreshold: 50, latencyThreshold: 3_600_000 });
    expect(config.queues[1]).toMatchObject({ processedCounter: 'counted:processed', failedCounter: 'counted:failed' });
    expect(config.queues[2]).toMatchObject({ groups: ['workers'], consumers: false });
    expect(config.discover).toEqual([
      { framework: 'asynq', backlogThreshold: 10, latencyThreshold: 300_000 },
      { framework: 'bullmq', prefix: 'myapp', backlogThreshold: 1000, latencyThreshold: 300_000 },
      { framework: 'sidekiq', namespace: 'prod', backlogThreshold: 1000, latencyThreshold: 300_000 },
      { framework: 'celery', queues: ['celery', 'celery:*'], prioritySteps: [0, 5], sep: '\x06\x16', globalKeyprefix: '', backlogThreshold: 1000, latencyThreshold: 600_000 },
      { framework: 'rq', backlogThreshold: 1000, latencyThreshold: 300_000 },
      { framework: 'stream', match: '*stream*', consumers: false, backlogThreshold: 1000, latencyThreshold: 300_000 },
      { framework: 'list', match: 'queue:*', oldestAt: 'head', backlogThreshold: 1000, latencyThreshold: 300_000 },
    ]);
    expect(config.components).toEqual([
      {
        name: 'consumer',
        heartbeat: 'consumer:heartbeat',
        staleAfter: 45_000,
        total: 'consumer:processed:total',
        lastDuration: 'consumer:last_duration',
        durations: 'consumer:durations',
      },
    ]);
    const exam = config.modules.exam;
    expect(exam?.queues).toEqual([{ type: 'zset', key: 'exam:delayed', backlogThreshold: 1000, latencyThreshold: 300_000 }]);
    expect(exam?.discover).toEqual([{ framework: 'rq', backlogThreshold: 1000, latencyThreshold: 300_000 }]);
    expect(exam?.components).toEqual([{ name: 'grader', heartbeat: 'grader:heartbeat', staleAfter: 30_000 }]);
    expect(exam?.redis).toEqual({
      username: 'probe',
      password: 'probe-default-pw',
      tls: { ca: join(base, 'tls/probe-ca.pem'), cert: '', key: '', servername: '', insecureSkipVerify: false },
    });
    expect(config.probe.allowTargets).toEqual(['10.0.*.*:6379', 'redis-*.internal:*']);
    expect(config.notify).toEqual({
      dingtalk: {
        ops: {
          url: 'https://oapi.dingtalk.com/robot/send?access_token=ding-from-file',
          secret: 'SECfromfile',
          mention: { mobiles: ['13800000000'], userIds: [], all: true },
          template: join(base, 'templates/ops.tmpl'),
        },
      },
      wecom: {
        backend: {
          url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wk',
          mention: { userIds: ['zhangsan'], mobiles: [], all: false },
          template: '',
        },
      },
      rateLimit: { count: 10, windowMs: 1000 },
      timeout: 3000,
      timeZone: 'UTC',
      store: { path: join(base, 'spool'), redis: 'redis://relay-redis:6380/0', allowMonitoredRedis: false, maxBytes: 8 * 1024 * 1024 },
    });
    // No `*File` key survives loading.
    expect(JSON.stringify(config)).not.toMatch(/File"/);
  });

  test('redis cluster and an empty discover list', () => {
    const config = parse('redis:\n  cluster:\n    nodes: ["10.0.0.1:7000", "10.0.0.2:7000"]\ndiscover: []\n');
    expect(config.redis.cluster).toEqual({ nodes: ['10.0.0.1:7000', '10.0.0.2:7000'] });
    expect(config.redis.url).toBe('redis://127.0.0.1:6379/0');
    expect(config.discover).toEqual([]);
  });

  test('YAML anchors and aliases resolve, and errors inside them point at the anchor', () => {
    const config = parse('components:\n  - &hb {name: a, heartbeat: a:hb}\nmodules:\n  m:\n    components: [*hb]\n');
    expect(config.modules.m?.components).toEqual([{ name: 'a', heartbeat: 'a:hb', staleAfter: 30_000 }]);
    expect(errorOf(() => parse('x: &t\n  staleAfter: 5q\ncomponents:\n  - *t\n'))).toBe(
      [
        'queuescope.yaml:1: x: unknown key "x"',
        'queuescope.yaml:2: components[0].staleAfter: invalid duration "5q" (use e.g. 500ms, 30s, 5m, 1h)',
        'queuescope.yaml:4: components[0].name: missing required key',
        'queuescope.yaml:4: components[0].heartbeat: missing required key',
      ].join('\n'),
    );
  });
});

describe('${VAR} interpolation', () => {
  test('${VAR}, ${VAR:-default}, several per value, and $${ for a literal ${', () => {
    const config = parse(
      [
        'listen: ${HOST}:${PORT:-9640}',
        'ui:',
        '  grafanaUrl: "http://${GRAFANA_HOST:-grafana}:3000/?q=$${not_a_var}&cost=$5"',
        'redis:',
        '  password: ${EMPTY:-fallback}',
        '  username: ${EMPTY}',
      ].join('\n'),
      { HOST: '127.0.0.1', EMPTY: '' },
    );
    expect(config.listen).toBe('127.0.0.1:9640');
    expect(config.ui.grafanaUrl).toBe('http://grafana:3000/?q=${not_a_var}&cost=$5');
    // `:-` also applies when the variable is set but empty, like the shell
    expect(config.redis.password).toBe('fallback');
    expect(config.redis.username).toBe('');
  });

  test('an all-digit secret stays a string', () => {
    const config = parse('redis:\n  password: ${REDIS_PASSWORD}\n', { REDIS_PASSWORD: '123456' });
    expect(config.redis.password).toBe('123456');
  });

  test('an unquoted interpolated value may fill a number or boolean field; a quoted one stays a string', () => {
    const config = parse('scrape:\n  scanCount: ${SCAN_COUNT:-250}\nredis:\n  tls:\n    insecureSkipVerify: ${INSECURE}\n', { INSECURE: 'true' });
    expect(config.scrape.scanCount).toBe(250);
    expect(config.redis.tls.insecureSkipVerify).toBe(true);
    expect(errorOf(() => parse('scrape:\n  scanCount: "${SCAN_COUNT:-250}"\n'))).toBe(
      'queuescope.yaml:2: scrape.scanCount: expected a number, got a string',
    );
    expect(errorOf(() => parse('scrape:\n  scanCount: ${SCAN_COUNT:-lots}\n'))).toBe(
      'queuescope.yaml:2: scrape.scanCount: expected a number, got a string',
    );
  });

  test('a missing variable names the variable, the key path and the line; every one is reported', () => {
    expect(errorOf(() => parse('listen: 0.0.0.0:9640\nnotify:\n  dingtalk:\n    ops:\n      url: https://x/?access_token=${DT_TOKEN}\n      secret: ${DT_SECRET}\n'))).toBe(
      [
        'queuescope.yaml:5: notify.dingtalk.ops.url: environment variable DT_TOKEN is not set (use ${DT_TOKEN:-default} for a fallback)',
        'queuescope.yaml:6: notify.dingtalk.ops.secret: environment variable DT_SECRET is not set (use ${DT_SECRET:-default} for a fallback)',
      ].join('\n'),
    );
  });

  test('keys are not interpolated', () => {
    expect(errorOf(() => parse('${KEY}: 1\n', { KEY: 'listen' }))).toBe('queuescope.yaml:1: ["${KEY}"]: unknown key "${KEY}"');
  });

  test('a malformed reference is an error that does not echo the value', () => {
    expect(errorOf(() => parse('redis:\n  password: "${PW:hunter2}"\n'))).toBe(
      'queuescope.yaml:2: redis.password: invalid variable reference (use ${VAR} or ${VAR:-default}; write $${ for a literal ${)',
    );
  });
});

describe('*File secrets', () => {
  test('relative to the config folder, trimmed, moved into the plain field', () => {
    writeFileSync(join(tmp, 'token'), '\n  s3cr3t-token \n');
    mkdirSync(join(tmp, 'sub'));
    writeFileSync(join(tmp, 'sub', 'pw'), 'pw-from-file\n');
    const config = parse('auth:\n  bearerTokenFile: token\nredis:\n  passwordFile: ./sub/pw\n', {}, tmp);
    expect(config.auth).toEqual({ bearerToken: 's3cr3t-token' });
    expect(config.redis.password).toBe('pw-from-file');
    expect(config.redis).not.toHaveProperty('passwordFile');
  });

  test('absolute paths are used as they are', () => {
    const secret = join(tmp, 'abs-secret');
    writeFileSync(secret, 'SECabs\n');
    const config = parse(`notify:\n  dingtalk:\n    ops:\n      url: https://x/robot/send?access_token=t\n      secretFile: ${secret}\n`, {}, '/nonexistent');
    expect(config.notify.dingtalk.ops?.secret).toBe('SECabs');
    expect(config.notify.dingtalk.ops).not.toHaveProperty('secretFile');
  });

  test('an unreadable file names the key path and line, never the content', () => {
    mkdirSync(join(tmp, 'a-dir'));
    expect(errorOf(() => parse('mysql:\n  url: mysql://u@h/\n  passwordFile: a-dir\n', {}, tmp))).toBe(
      'queuescope.yaml:3: mysql.passwordFile: cannot read "a-dir": is a directory',
    );
    expect(errorOf(() => parse('modules:\n  exam:\n    redis:\n      passwordFile: missing\n', {}, tmp))).toBe(
      'queuescope.yaml:4: modules.exam.redis.passwordFile: cannot read "missing": no such file',
    );
  });

  test('an empty secret file is an error (an empty bearer token would turn auth off)', () => {
    writeFileSync(join(tmp, 'empty'), ' \n');
    expect(errorOf(() => parse('auth:\n  bearerTokenFile: empty\n', {}, tmp))).toBe('queuescope.yaml:2: auth.bearerTokenFile: "empty" is empty');
  });

  test('the content must fit the field; the error points at the *File key and hides the content', () => {
    writeFileSync(join(tmp, 'url'), 'oapi.dingtalk.com/robot/send?access_token=leaky-token\n');
    const message = errorOf(() => parse('notify:\n  dingtalk:\n    ops:\n      urlFile: url\n', {}, tmp));
    expect(message).toBe('queuescope.yaml:4: notify.dingtalk.ops.urlFile: content of "url": must be an http(s) URL');
    expect(message).not.toContain('leaky-token');
  });

  test('files are not read while the shape is invalid', () => {
    // the typo must be reported, not the (unrelated) missing file
    expect(errorOf(() => parse('redis:\n  passwordFile: missing\n  comandTimeout: 1s\n', {}, tmp))).toBe(
      'queuescope.yaml:3: redis.comandTimeout: unknown key "comandTimeout"',
    );
  });
});

describe('loadConfigFile', () => {
  test('names the file as given and resolves relative paths against its folder', async () => {
    mkdirSync(join(tmp, 'etc'));
    writeFileSync(join(tmp, 'etc', 'pw'), 'from-etc');
    copyFileSync(join(tlsFixtures, 'ca.pem'), join(tmp, 'etc', 'ca.pem'));
    const path = join(tmp, 'etc', 'qs.yaml');
    writeFileSync(path, 'redis:\n  passwordFile: pw\n  tls: {ca: ca.pem}\n');
    const config = await loadConfigFile(path, {});
    expect(config.redis.password).toBe('from-etc');
    expect(config.redis.tls.ca).toBe(join(tmp, 'etc', 'ca.pem'));

    writeFileSync(path, 'listen: nowhere\n');
    expect((await asyncErrorOf(loadConfigFile(path, {}))).message).toBe(
      `${path}:1: listen: must be HOST:PORT, e.g. 127.0.0.1:9640 or [::1]:9640`,
    );
  });

  test('a missing file is a ConfigError', async () => {
    const err = await asyncErrorOf(loadConfigFile(join(tmp, 'nope.yaml'), {}));
    expect(err.message).toBe(`${join(tmp, 'nope.yaml')}: cannot read the config file: no such file`);
  });
});

describe('resolveConfig precedence', () => {
  function writeConfig(name: string, listen: string, logLevel: string): string {
    const path = join(tmp, name);
    writeFileSync(path, `listen: ${listen}\nlogLevel: ${logLevel}\nmysql:\n  url: mysql://file@db/\n  timeout: 7s\n`);
    return path;
  }

  test('--config > $QUEUESCOPE_CONFIG > ./queuescope.yaml > built-in defaults', async () => {
    writeConfig('queuescope.yaml', '0.0.0.0:1001', 'warn');
    writeConfig('from-env.yaml', '0.0.0.0:1002', 'warn');
    writeConfig('from-flag.yaml', '0.0.0.0:1003', 'warn');

    let r = await resolveConfig({ env: {}, cwd: tmp });
    expect(r.source).toBe(join(tmp, 'queuescope.yaml'));
    expect(r.config.listen).toBe('0.0.0.0:1001');

    r = await resolveConfig({ env: { QUEUESCOPE_CONFIG: 'from-env.yaml' }, cwd: tmp });
    expect(r.source).toBe(join(tmp, 'from-env.yaml'));
    expect(r.config.listen).toBe('0.0.0.0:1002');

    r = await resolveConfig({ configPath: 'from-flag.yaml', env: { QUEUESCOPE_CONFIG: 'from-env.yaml' }, cwd: tmp });
    expect(r.source).toBe(join(tmp, 'from-flag.yaml'));
    expect(r.config.listen).toBe('0.0.0.0:1003');

    const empty = mkdtempSync(join(tmp, 'empty-'));
    r = await resolveConfig({ env: { QUEUESCOPE_CONFIG: '' }, cwd: empty });
    expect(r.source).toBe(BUILT_IN_DEFAULTS);
    expect(r.config.listen).toBe('0.0.0.0:9640');
    expect(r.config.redis.url).toBe('redis://127.0.0.1:6379/0');
    expect(r.config.mysql).toBeUndefined();
    expect(r.config.discover).toBeUndefined();
  });

  test('flags > environment > file, for listen and log level', async () => {
    const path = writeConfig('q.yaml', '0.0.0.0:1001', 'warn');
    const env = { QUEUESCOPE_LISTEN: '127.0.0.1:2002', QUEUESCOPE_LOG_LEVEL: 'debug' };

    let r = await resolveConfig({ configPath: path, env: {}, cwd: tmp });
    expect([r.config.listen, r.config.logLevel]).toEqual(['0.0.0.0:1001', 'warn']);

    r = await resolveConfig({ configPath: path, env, cwd: tmp });
    expect([r.config.listen, r.config.logLevel]).toEqual(['127.0.0.1:2002', 'debug']);

    r = await resolveConfig({ configPath: path, env, cwd: tmp, listen: '[::1]:3003', logLevel: 'error' });
    expect([r.config.listen, r.config.logLevel]).toEqual(['[::1]:3003', 'error']);

    // without a file, too
    const empty = mkdtempSync(join(tmp, 'empty-'));
    r = await resolveConfig({ env, cwd: empty, logLevel: 'trace' });
    expect([r.config.listen, r.config.logLevel]).toEqual(['127.0.0.1:2002', 'trace']);
  });

  test('QUEUESCOPE_REDIS_URL and QUEUESCOPE_MYSQL_URL override the file; the MySQL one creates the block', async () => {
    const path = writeConfig('q.yaml', '0.0.0.0:1001', 'warn');
    let r = await resolveConfig({ configPath: path, env: { QUEUESCOPE_REDIS_URL: 'rediss://:pw@redis:6380/2', QUEUESCOPE_MYSQL_URL: 'mysql://env@db2/' }, cwd: tmp });
    expect(r.config.redis.url).toBe('rediss://:pw@redis:6380/2');
    // the file's other mysql settings stay
    expect(r.config.mysql).toEqual({ url: 'mysql://env@db2/', timeout: 7000, processlist: true });

    const empty = mkdtempSync(join(tmp, 'empty-'));
    r = await resolveConfig({ env: { QUEUESCOPE_MYSQL_URL: 'mysql://root@127.0.0.1:3306/' }, cwd: empty });
    expect(r.config.mysql).toEqual({ url: 'mysql://root@127.0.0.1:3306/', timeout: 2000, processlist: true });
  });

  test('empty override variables count as unset', async () => {
    const path = writeConfig('q.yaml', '0.0.0.0:1001', 'warn');
    const r = await resolveConfig({ configPath: path, env: { QUEUESCOPE_LISTEN: '', QUEUESCOPE_MYSQL_URL: '' }, cwd: tmp });
    expect(r.config.listen).toBe('0.0.0.0:1001');
    expect(r.config.mysql?.url).toBe('mysql://file@db/');
  });

  test('a bad override is a ConfigError naming the variable or flag', async () => {
    const path = writeConfig('q.yaml', '0.0.0.0:1001', 'warn');
    let err = await asyncErrorOf(resolveConfig({ configPath: path, env: { QUEUESCOPE_LISTEN: '9640' }, cwd: tmp }));
    expect(err.message).toBe('$QUEUESCOPE_LISTEN: listen: must be HOST:PORT, e.g. 127.0.0.1:9640 or [::1]:9640');
    expect(err.issues).toEqual([{ file: '$QUEUESCOPE_LISTEN', path: 'listen', message: 'must be HOST:PORT, e.g. 127.0.0.1:9640 or [::1]:9640' }]);

    err = await asyncErrorOf(resolveConfig({ configPath: path, env: { QUEUESCOPE_LISTEN: '9640' }, cwd: tmp, listen: 'nowhere' }));
    expect(err.message).toBe('--listen: listen: must be HOST:PORT, e.g. 127.0.0.1:9640 or [::1]:9640');

    err = await asyncErrorOf(resolveConfig({ env: {}, cwd: tmp, configPath: path, logLevel: 'loud' }));
    expect(err.message).toBe('--log-level: logLevel: invalid value "loud" (must be one of fatal, error, warn, info, debug, trace, silent)');

    err = await asyncErrorOf(resolveConfig({ configPath: path, env: { QUEUESCOPE_REDIS_URL: 'http://:hunter2@redis:6379' }, cwd: tmp }));
    expect(err.message).toBe('$QUEUESCOPE_REDIS_URL: redis.url: must start with redis:// or rediss://');

    err = await asyncErrorOf(resolveConfig({ env: { QUEUESCOPE_MYSQL_URL: 'postgres://x@db/' }, cwd: mkdtempSync(join(tmp, 'e-')) }));
    expect(err.message).toBe('$QUEUESCOPE_MYSQL_URL: mysql.url: must start with mysql://');
  });

  test('a config file that is named but missing is an error, never a silent fallback', async () => {
    let err = await asyncErrorOf(resolveConfig({ configPath: 'nope.yaml', env: {}, cwd: tmp }));
    expect(err.message).toBe('nope.yaml: cannot read the config file: no such file, named by --config');
    err = await asyncErrorOf(resolveConfig({ env: { QUEUESCOPE_CONFIG: '/nonexistent/qs.yaml' }, cwd: tmp }));
    expect(err.message).toBe('/nonexistent/qs.yaml: cannot read the config file: no such file, named by $QUEUESCOPE_CONFIG');
  });

  test('issues of the file name it as given, relative to cwd', async () => {
    mkdirSync(join(tmp, 'conf'));
    writeFileSync(join(tmp, 'conf', 'qs.yaml'), 'queues:\n  - type: list\n    key: a\n    windows: [1m, 5x]\n');
    const err = await asyncErrorOf(resolveConfig({ configPath: 'conf/qs.yaml', env: {}, cwd: tmp }));
    expect(err.message).toBe('conf/qs.yaml:4: queues[0].windows[1]: invalid duration "5x" (use e.g. 500ms, 30s, 5m, 1h)');
  });
});

describe('hostile sizes (issue 10 #11)', () => {
  // On main each unknown key looked its line up by a linear scan, and yaml's
  // duplicate-key check compared every key with every other: 40,000 keys
  // took about 45 s. Now both are one lookup per key, and the error lists
  // the first 100 problems and a count, not 40,000 lines.
  test('many unknown keys: linear, and the error stays readable', () => {
    const n = 40_000;
    const text = `scrape:\n${Array.from({ length: n }, (_, i) => `  k${i}: 1\n`).join('')}`;
    const err = (() => {
      try {
        parse(text);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(err.issues).toHaveLength(101);
    expect(formatConfigIssue(err.issues[0]!)).toBe('queuescope.yaml:2: scrape.k0: unknown key "k0"');
    expect(err.issues[100]!.message).toBe(`… and ${n - 100} more problems`);
  }, 20_000);

  test('a duplicate key deep in a large mapping is still found, at its line', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `    k${i}: 1\n`).join('');
    const text = `notify:\n  dingtalk:\n${keys.replace(/^ {4}/gm, '    ').replace(/(k\d+): 1/g, '$1: { url: "https://x/" }')}    k42: { url: "https://y/" }\n`;
    expect(errorOf(() => parse(text))).toBe(`queuescope.yaml:${5003}: notify.dingtalk.k42: duplicate key "k42"`);
  });
});
