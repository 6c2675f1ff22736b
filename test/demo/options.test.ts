import { describe, expect, it } from 'vitest';
import { defaultKeep, parseDemoArgs } from '../../src/demo/options.js';
import { inBurst, Pacer } from '../../src/demo/pace.js';
import { runDemoCommand } from '../../src/demo/index.js';

describe('parseDemoArgs', () => {
  it('uses the QUEUESCOPE_* environment as defaults and flags over them', () => {
    const env = { QUEUESCOPE_REDIS_URL: 'redis://r:6379/1', QUEUESCOPE_MYSQL_URL: 'mysql://u:p@m:3306/exam' };
    const fromEnv = parseDemoArgs([], env);
    expect(fromEnv).toMatchObject({ kind: 'run', options: { redisUrl: 'redis://r:6379/1', mysqlUrl: 'mysql://u:p@m:3306/exam', rate: 50, burst: false } });
    const fromFlags = parseDemoArgs(['--redis', 'redis://x:1/0', '--rate', '7', '--burst', '--fail-ratio', '0.2', '--duration', '30s'], env);
    expect(fromFlags).toMatchObject({ kind: 'run', durationMs: 30_000, options: { redisUrl: 'redis://x:1/0', rate: 7, burst: true, failRatio: 0.2 } });
  });

  it('defaults to local Redis and no MySQL; empty variables count as unset', () => {
    expect(parseDemoArgs([], { QUEUESCOPE_MYSQL_URL: '' })).toMatchObject({ kind: 'run', options: { redisUrl: 'redis://127.0.0.1:6379/0', mysqlUrl: undefined } });
  });

  it('keeps at least twenty minutes of tasks by default', () => {
    expect(defaultKeep(50)).toBe(60_000);
    expect(defaultKeep(1)).toBe(20_000);
  });

  it.each([
    [['--rate', 'fast'], /--rate/],
    [['--rate', '0'], /--rate/],
    [['--fail-ratio', '2'], /--fail-ratio/],
    [['--duration', 'soon'], /--duration/],
    [['--redis', 'http://x'], /--redis/],
    [['--mysql', 'postgres://x'], /--mysql/],
    [['--keep', '5'], /--keep/],
    [['--bogus'], /bogus/],
    [['extra'], /extra/],
  ])('refuses %j with a message naming the problem', (args, re) => {
    const r = parseDemoArgs(args, {});
    expect(r.kind).toBe('error');
    if (r.kind === 'error') expect(r.message).toMatch(re);
  });

  it('runDemoCommand answers 2 for bad arguments without touching Redis', async () => {
    const write = process.stderr.write;
    let err = '';
    process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
    try {
      expect(await runDemoCommand(['--rate=-1'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(err).toMatch(/--rate must be/);
  });
});

describe('pacing', () => {
  it('hands out rate × elapsed whole tasks and caps banked credit at one second', () => {
    let now = 0;
    const p = new Pacer(() => 50, () => now);
    now = 100;
    expect(p.take()).toBe(5);
    now = 110;
    expect(p.take()).toBe(0);
    now = 10_000; // a long pause banks at most one second's worth
    expect(p.take()).toBe(50);
    p.refund(3);
    expect(p.take(2)).toBe(2);
  });

  it('bursts after the delay, for forMs, every everyMs', () => {
    const s = { delayMs: 60_000, forMs: 180_000, everyMs: 900_000 };
    expect(inBurst(59_999, s)).toBe(false);
    expect(inBurst(60_000, s)).toBe(true);
    expect(inBurst(239_999, s)).toBe(true);
    expect(inBurst(240_000, s)).toBe(false);
    expect(inBurst(960_000, s)).toBe(true);
  });
});
