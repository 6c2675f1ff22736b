/**
 * The config loader against random input (issue 10, fuzzing): any text, and
 * any tree of known and unknown keys with values of any type, loads to a
 * Config or throws a ConfigError whose issues each name a file, a key path
 * (unless the YAML itself is broken) and a message — never another exception,
 * never a secret from the environment echoed.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { isConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { fuzzParams, fuzzTimeoutMs } from '../helpers/fuzz.js';

const SECRET = 'env-secret-91fe';
const ENV = { QS_SECRET: SECRET, QS_EMPTY: '', QS_NUM: '42' };
const opts = { file: 'fuzz.yaml', env: ENV, baseDir: '/nonexistent-qs-fuzz' };

/** Keys of the real schema, so random trees reach deep validation instead of stopping at "unknown key". */
const KEYS = [
  'listen', 'logLevel', 'ui', 'grafanaUrl', 'rateWindow', 'auth', 'bearerToken', 'bearerTokenFile', 'basic', 'username', 'password',
  'passwordFile', 'scrape', 'timeout', 'cacheFor', 'discoveryInterval', 'scanCount', 'maxQueues', 'redis', 'url', 'connectTimeout',
  'commandTimeout', 'tls', 'ca', 'cert', 'key', 'servername', 'insecureSkipVerify', 'sentinel', 'masterName', 'nodes', 'cluster', 'mysql',
  'processlist', 'queues', 'name', 'type', 'details', 'done', 'failed', 'timeline', 'windows', 'backlogThreshold', 'latencyThreshold',
  'groups', 'retry', 'dead', 'consumers', 'discover', 'framework', 'prefix', 'match', 'components', 'heartbeat', 'staleAfter', 'total',
  'modules', 'probe', 'allowTargets', 'notify', 'dingtalk', 'wecom', 'secret', 'mention', 'rateLimit', 'timeZone', 'urlFile',
];
const SCALARS = [
  '0s', '30s', '5m', '30d', '1e400s', '-1s', 'list', 'stream', 'zset', 'asynq', 'bullmq', 'info', 'trace', '127.0.0.1:9640',
  '999.1.1.1:9640', '[::1]:9640', 'redis://127.0.0.1:6379/0', 'redis://[::1/0', 'redis://h/abc', 'redis://:%ZZ@h/0',
  'redis://127.0.0.1:99999/0', 'mysql://u:p@h:3306/', 'https://oapi.dingtalk.com/robot/send?access_token=x', '20/min',
  '${QS_SECRET}', '${QS_MISSING}', '${QS_EMPTY:-fallback}', '${QS_NUM}', '$${literal}', '${', '${bad ref}', '10.0.*.*:6379', '*:*',
  '/dev/zero', 'Asia/Shanghai', 'Mars/Olympus',
];

const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
const scalar = fc.oneof(
  fc.constantFrom(...SCALARS),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('map')),
  list: fc.array(tie('tree'), { maxLength: 3 }),
  map: fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
}));
const config = fc.dictionary(key, tree, { maxKeys: 6 });

/** Loads `text`; returns the ConfigError's issues (none when valid), after checking their shape. */
function outcome(text: string): ReadonlyArray<{ path: string; message: string }> {
  let err: unknown;
  try {
    parseConfigText(text, opts);
    return [];
  } catch (e) {
    err = e;
  }
  if (!isConfigError(err)) throw err; // anything else is the bug this test exists for
  expect(err.issues.length).toBeGreaterThan(0);
  for (const issue of err.issues) {
    expect(issue.file).toBe('fuzz.yaml');
    expect(issue.message.length).toBeGreaterThan(0);
  }
  expect(err.message).not.toContain(SECRET);
  return err.issues;
}

describe('config loader (fuzz)', () => {
  test(
    'random trees of config keys: a Config or a ConfigError naming key paths',
    () => {
      fc.assert(
        fc.property(config, (tree) => {
          // The text is valid YAML with a mapping on top: every issue names where.
          for (const issue of outcome(stringify(tree))) if (!issue.message.startsWith('… and')) expect(issue.path, issue.message).not.toBe('');
        }),
        fuzzParams(200),
      );
    },
    fuzzTimeoutMs(60_000),
  );

  test(
    'random text: a Config or a ConfigError, never another exception',
    () => {
      const yamlish = fc.string({ unit: fc.constantFrom(...'ab:- \n\t"\'{}[]&*!|>%@`#,?$0123456789'.split('')), maxLength: 80 });
      fc.assert(
        fc.property(fc.oneof(yamlish, fc.string({ maxLength: 80 }), config.map((t) => stringify(t).slice(0, 60))), (text) => void outcome(text)),
        fuzzParams(400),
      );
    },
    fuzzTimeoutMs(60_000),
  );
});
