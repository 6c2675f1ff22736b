/**
 * Every duration setting has a documented range (issue 10 #8): `0s` for
 * discoveryInterval used to run ~1000 SCAN/s, `30d` overflowed setTimeout
 * to 1 ms, `scrape.timeout: 30d` made every scrape redis_up 0.
 */
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { describeRange, formatDuration, MAX_DURATION_MS, parseDuration } from '../../src/config/durations.js';
import { parseConfigText } from '../../src/config/load.js';

function parse(text: string) {
  return parseConfigText(text, { file: 'q.yaml', env: {}, baseDir: '/' });
}
function messageOf(text: string): string {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('accepted');
}

// [yaml with DUR in place of the value, key path, smallest, largest] — the README's table.
const SETTINGS: ReadonlyArray<[string, string, string, string]> = [
  ['scrape:\n  timeout: DUR\n', 'scrape.timeout', '100ms', '5m'],
  ['scrape:\n  cacheFor: DUR\n', 'scrape.cacheFor', '0s', '1h'],
  ['scrape:\n  discoveryInterval: DUR\n', 'scrape.discoveryInterval', '1s', '24h'],
  ['redis:\n  connectTimeout: DUR\n', 'redis.connectTimeout', '10ms', '5m'],
  ['redis:\n  commandTimeout: DUR\n', 'redis.commandTimeout', '10ms', '5m'],
  ['mysql:\n  url: mysql://u@h/\n  timeout: DUR\n', 'mysql.timeout', '10ms', '5m'],
  ['notify:\n  timeout: DUR\n', 'notify.timeout', '10ms', '5m'],
  ['ui:\n  rateWindow: DUR\n', 'ui.rateWindow', '1s', '24h'],
  ['queues:\n  - { type: list, key: q, latencyThreshold: DUR }\n', 'queues[0].latencyThreshold', '1s', '24d'],
  ['queues:\n  - { type: list, key: q, windows: [DUR] }\n', 'queues[0].windows[0]', '1s', '24d'],
  ['components:\n  - { name: c, heartbeat: h, staleAfter: DUR }\n', 'components[0].staleAfter', '1s', '24d'],
];

/** One millisecond below / above a bound, as a duration string. */
function nudge(bound: string, by: number): string {
  const ms = bound === '24d' ? MAX_DURATION_MS : (parseDuration(bound) as number);
  return `${ms + by}ms`;
}

describe('duration ranges', () => {
  test.each(SETTINGS)('%#: %s accepts its bounds and names the range outside them', (yaml, path, min, max) => {
    const range = `between ${min} and ${max}`;
    const at = (d: string) => yaml.replace('DUR', d);
    expect(() => parse(at(min === '0s' ? '0s' : min))).not.toThrow();
    expect(() => parse(at(nudge(max, 0)))).not.toThrow();
    expect(messageOf(at(nudge(max, 1)))).toContain(`${path}: duration "${nudge(max, 1)}" is out of range: must be ${range}`);
    if (min !== '0s') expect(messageOf(at(nudge(min, -1)))).toContain(`${path}: duration "${nudge(min, -1)}" is out of range: must be ${range}`);
    expect(messageOf(at('30d'))).toContain('is out of range');
  });

  test('no duration can exceed what setTimeout holds', () => {
    expect(MAX_DURATION_MS).toBe(2 ** 31 - 1);
    expect(describeRange({ minMs: 1000, maxMs: MAX_DURATION_MS })).toBe('between 1s and 24d');
    expect(formatDuration(300_000)).toBe('5m');
    // a number too large for a double is out of range, never Infinity ms
    expect(messageOf('scrape:\n  cacheFor: 1e999s\n')).toContain('invalid duration');
    expect(messageOf(`scrape:\n  cacheFor: ${'9'.repeat(400)}s\n`)).toContain('is out of range');
  });
});
