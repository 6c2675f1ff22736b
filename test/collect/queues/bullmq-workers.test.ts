import { describe, expect, it } from 'vitest';
import { bullmqClientName, clientNames, countWorkers } from '../../../src/collect/queues/bullmq-workers.js';

describe('BullMQ workers by client name (queue-getters.js getWorkers)', () => {
  const list = [
    'id=3 addr=127.0.0.1:1 laddr=127.0.0.1:6379 fd=7 name= age=0 idle=0 flags=N db=0 cmd=client|list',
    `id=5 addr=127.0.0.1:2 fd=9 name=${bullmqClientName('bull', 'mé dia-x')} age=0 flags=b cmd=bzpopmin`,
    `id=7 addr=127.0.0.1:3 fd=12 name=${bullmqClientName('bull', 'mé dia-x')}:w:named age=0 flags=b cmd=bzpopmin`,
    `id=8 addr=127.0.0.1:4 fd=13 name=${bullmqClientName('{app}', 'mé dia-x')}:w:a:w:b age=0`,
    `id=9 addr=127.0.0.1:5 fd=14 name=${bullmqClientName('bull', 'mé dia-x')}:qe age=0`,
  ].join('\n');

  it('names the client as BullMQ does: prefix and base64 of the queue name', () => {
    expect(bullmqClientName('bull', 'mé dia-x')).toBe('bull:bcOpIGRpYS14');
  });

  it('counts unnamed and named workers per prefix and queue, not QueueEvents', () => {
    const names = clientNames(list);
    expect(names).toHaveLength(4);
    expect(countWorkers(names, [{ prefix: 'bull', name: 'mé dia-x' }, { prefix: '{app}', name: 'mé dia-x' }, { prefix: 'bull', name: 'other' }])).toEqual([2, 1, 0]);
  });
});
