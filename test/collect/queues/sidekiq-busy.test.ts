import { describe, expect, it } from 'vitest';
import { busyQueues, isStale } from '../../../src/collect/queues/sidekiq-busy.js';

describe('Sidekiq busy jobs (launcher.rb heartbeat)', () => {
  it('reads the queue of each busy job, skipping unreadable entries', () => {
    const job = (queue: string) => JSON.stringify({ queue, payload: '{"class":"X"}', run_at: 1 });
    expect(busyQueues([job('hang-ø'), 'not json', job('a b')])).toEqual(['hang-ø', 'a b']);
  });

  it('calls a process dead when its beat is older than 20 s or gone', () => {
    const now = 1_000_000_000_000;
    expect(isStale(String(now / 1000 - 19.5), now)).toBe(false);
    expect(isStale(String(now / 1000 - 20.5), now)).toBe(true);
    expect(isStale(null, now)).toBe(true);
    expect(isStale('garbage', now)).toBe(true);
  });
});
