/**
 * "Log this reason once" keys on a stable reason (issue 10 #11): a reason
 * that carries the scrape clock (RQ's `ZCOUNT rq:finished:q 0 <now>` on a
 * broken registry) used to log one warning per scrape.
 */
import { describe, expect, it } from 'vitest';
import { ScrapeEngine } from '../../src/collect/engine.js';
import { stableReason } from '../../src/log-once.js';
import { ReplyError, type RedisCollector } from '../../src/collect/types.js';
import type { BatchExecutor } from '../../src/redis/batch.js';
import { createLogger } from '../../src/log.js';

describe('log once', () => {
  it('the clock in a reason does not make it a new reason', () => {
    expect(stableReason('ZCOUNT rq:finished:q 0 1767225600: key holds the wrong type')).toBe(stableReason('ZCOUNT rq:finished:q 0 1767225607: key holds the wrong type'));
    expect(stableReason('GET a: value "x" is not a number')).toBe('GET a: value "x" is not a number');
  });

  it('a broken registry read on every scrape is logged once', async () => {
    const lines: string[] = [];
    const log = createLogger('warn', { write: (s: string) => void lines.push(s) });
    const executor: BatchExecutor = {
      exec: async (commands) => ({ replies: commands.map((c) => (c.command[0] === 'PING' ? [null, 'PONG'] : [new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), null])), roundtrips: 1, ok: true }),
      scanKeys: async () => {},
      close: async () => {},
    };
    const rq: RedisCollector = {
      name: 'rq',
      steps: () => [
        {
          commands: [['ZCOUNT', 'rq:finished:q', 0, { clock: 'whole_s' }]],
          read(_replies, _sink, nowMs) {
            throw new ReplyError(`ZCOUNT rq:finished:q 0 ${Math.floor(nowMs / 1000)}: key holds the wrong type`);
          },
        },
      ],
    };
    let now = 1_767_225_600_000;
    const engine = new ScrapeEngine({ executor, collectors: () => [rq], cacheForMs: 0, log, now: () => now });
    for (let i = 0; i < 5; i++) {
      now += 15_000;
      const c = await engine.collect(Date.now() + 1000);
      expect(c.collectors.get('rq')!.success).toBe(false);
    }
    expect(lines.filter((l) => l.includes('rq:finished:q'))).toHaveLength(1);
  });
});
