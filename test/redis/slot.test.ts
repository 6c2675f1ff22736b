/** Hash slots and MOVED / ASK parsing, against the Redis Cluster specification's own examples. */
import { describe, expect, it } from 'vitest';
import { parseHostPort } from '../../src/host-port.js';
import { parseRedirect } from '../../src/redis/cluster.js';
import { keySlot } from '../../src/redis/slot.js';

describe('keySlot', () => {
  it('is CRC16-XMODEM mod 16384 (the spec: CRC16("123456789") = 0x31C3)', () => {
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('')).toBe(0);
  });
  it('hashes only the hash tag, with the spec\'s edge cases', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
    // `{}` right away: the whole key is hashed (redis-server says 8363; some client libraries get this wrong)
    expect(keySlot('foo{}{bar}')).toBe(8363);
    expect(keySlot('asynq:{default}:pending')).toBe(keySlot('asynq:{default}:active'));
  });
  it('hashes UTF-8 bytes', () => {
    expect(keySlot('日本語キー')).toBe(keySlot(Buffer.from('日本語キー', 'utf8')));
  });
});

describe('redirections', () => {
  it('parses MOVED and ASK, and nothing else', () => {
    expect(parseRedirect('MOVED 3999 127.0.0.1:6381')).toEqual({ kind: 'MOVED', slot: 3999, node: '127.0.0.1:6381' });
    expect(parseRedirect('ASK 12 10.0.0.2:7000')).toEqual({ kind: 'ASK', slot: 12, node: '10.0.0.2:7000' });
    expect(parseRedirect('WRONGTYPE Operation against a key holding the wrong kind of value')).toBeUndefined();
    expect(parseRedirect('CLUSTERDOWN Hash slot not served')).toBeUndefined();
  });
  it('splits host:port, IPv6 included', () => {
    expect(parseHostPort('10.0.0.1:7000')).toEqual({ host: '10.0.0.1', port: 7000 });
    expect(parseHostPort('[::1]:7001')).toEqual({ host: '::1', port: 7001 });
    expect(parseHostPort('::1:7002')).toEqual({ host: '::1', port: 7002 });
    expect(() => parseHostPort('nohost')).toThrow(/HOST:PORT/);
  });
});
