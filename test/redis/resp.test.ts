/**
 * RESP2 encoder and streaming parser (src/redis/resp.ts): every reply type,
 * replies cut at every byte boundary, nested XINFO-like arrays, errors, nil.
 */
import { describe, expect, it } from 'vitest';
import { encodeCommands, RespParser, RespProtocolError, RespReplyError, type RespValue } from '../../src/redis/resp.js';

function parseAll(chunks: Buffer[]): RespValue[] {
  const out: RespValue[] = [];
  const p = new RespParser((r) => out.push(r));
  for (const c of chunks) p.push(c);
  return out;
}

const b = (s: string) => Buffer.from(s, 'utf8');

/** Errors compare by class and message (toEqual ignores Error subclasses' extra fields). */
function normalise(v: RespValue): unknown {
  if (v instanceof RespReplyError) return { error: v.message };
  if (Array.isArray(v)) return v.map(normalise);
  return v;
}

// A realistic mixed stream: what a scrape batch's replies look like.
const MIXED = [
  '+OK\r\n',
  ':42\r\n',
  ':-7\r\n',
  ':0\r\n',
  '$5\r\nhello\r\n',
  '$0\r\n\r\n',
  '$-1\r\n',
  '*-1\r\n',
  '*0\r\n',
  '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n',
  '$11\r\nhé\r\nllo wo\r\n', // a bulk string containing CRLF and a 2-byte UTF-8 char (11 bytes)
  '*3\r\n$3\r\nt-1\r\n$3\r\nt-2\r\n$-1\r\n',
  // XINFO STREAM-like: flat field/value list with nested entries
  '*8\r\n$6\r\nlength\r\n:100\r\n$6\r\ngroups\r\n:2\r\n$11\r\nfirst-entry\r\n*2\r\n$15\r\n1700000000000-0\r\n*2\r\n$4\r\ntask\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n*-1\r\n',
  // XINFO GROUPS-like: array of flat maps
  '*2\r\n*4\r\n$4\r\nname\r\n$2\r\ng1\r\n$7\r\npending\r\n:20\r\n*4\r\n$4\r\nname\r\n$2\r\ng2\r\n$3\r\nlag\r\n$-1\r\n',
  // XPENDING summary with nested consumer list
  '*4\r\n:20\r\n$3\r\n1-0\r\n$4\r\n20-0\r\n*1\r\n*2\r\n$2\r\nc1\r\n$2\r\n20\r\n',
  // an error inside an array (as EXEC would send)
  '*2\r\n:1\r\n-ERR inner\r\n',
  '*1\r\n*1\r\n*1\r\n*0\r\n',
];

const MIXED_EXPECTED: unknown[] = [
  'OK', 42, -7, 0, 'hello', '', null, null, [],
  { error: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
  'hé\r\nllo wo',
  ['t-1', 't-2', null],
  ['length', 100, 'groups', 2, 'first-entry', ['1700000000000-0', ['task', '1']], 'last-entry', null],
  [['name', 'g1', 'pending', 20], ['name', 'g2', 'lag', null]],
  [20, '1-0', '20-0', [['c1', '20']]],
  [1, { error: 'ERR inner' }],
  [[[[]]]],
];

describe('RespParser', () => {
  it('parses every RESP2 reply type', () => {
    const out = parseAll([b(MIXED.join(''))]);
    expect(out.map(normalise)).toEqual(MIXED_EXPECTED);
    expect(out[9]).toBeInstanceOf(Error);
    expect(out[9]).toBeInstanceOf(RespReplyError);
  });

  it('gives the same replies when the stream is split at every single byte boundary', () => {
    const whole = b(MIXED.join(''));
    for (let i = 0; i <= whole.length; i++) {
      const out = parseAll([whole.subarray(0, i), whole.subarray(i)]);
      expect(out.map(normalise), `split at ${i}`).toEqual(MIXED_EXPECTED);
    }
  });

  it('gives the same replies when fed one byte at a time', () => {
    const whole = b(MIXED.join(''));
    const chunks: Buffer[] = [];
    for (let i = 0; i < whole.length; i++) chunks.push(whole.subarray(i, i + 1));
    expect(parseAll(chunks).map(normalise)).toEqual(MIXED_EXPECTED);
  });

  it('gives the same replies for random multi-cut splits of a large random stream', () => {
    // Seeded PRNG (mulberry32): failures are reproducible.
    let seed = 0x5eed;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const parts: string[] = [];
    for (let i = 0; i < 400; i++) parts.push(MIXED[Math.floor(rnd() * MIXED.length)]!);
    // plus a big bulk string and a big array
    parts.push(`$${100_000}\r\n${'x'.repeat(100_000)}\r\n`);
    parts.push(`*1000\r\n${Array.from({ length: 1000 }, (_, i) => `$${String(i).length}\r\n${i}\r\n`).join('')}`);
    const whole = b(parts.join(''));
    const reference = parseAll([whole]).map(normalise);
    expect(reference).toHaveLength(402);
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      let pos = 0;
      const maxChunk = 1 + Math.floor(rnd() * (round % 2 === 0 ? 16 : 4096));
      while (pos < whole.length) {
        const n = 1 + Math.floor(rnd() * maxChunk);
        chunks.push(whole.subarray(pos, pos + n));
        pos += n;
      }
      expect(parseAll(chunks).map(normalise)).toEqual(reference);
    }
  });

  it('stays linear when a huge reply arrives in many chunks', () => {
    // 20 MB bulk in 16 KiB chunks, and an array of 200k elements in 16 KiB chunks.
    const big = Buffer.concat([b('$20000000\r\n'), Buffer.alloc(20_000_000, 0x61), b('\r\n')]);
    const arr = b(`*200000\r\n${':1\r\n'.repeat(200_000)}`);
    for (const whole of [big, arr]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < whole.length; i += 16_384) chunks.push(whole.subarray(i, i + 16_384));
      const t0 = performance.now();
      const out = parseAll(chunks);
      const ms = performance.now() - t0;
      expect(out).toHaveLength(1);
      // Quadratic re-parsing would take seconds here (1,200+ chunks × MBs).
      expect(ms).toBeLessThan(1500);
    }
  });

  it('reports a non-RESP byte stream as a protocol error', () => {
    expect(() => parseAll([b('HTTP/1.1 400 Bad Request\r\n')])).toThrow(RespProtocolError);
    expect(() => parseAll([b(':12a\r\n')])).toThrow(RespProtocolError);
    expect(() => parseAll([b('$3\r\nabcd\r\n')])).toThrow(RespProtocolError);
  });

  it('reset() forgets a partial reply', () => {
    const out: RespValue[] = [];
    const p = new RespParser((r) => out.push(r));
    p.push(b('*2\r\n$3\r\nab'));
    p.reset();
    p.push(b(':5\r\n'));
    expect(out).toEqual([5]);
  });
});

describe('encodeCommands', () => {
  it('writes RESP2 arrays of bulk strings, numbers as decimal strings', () => {
    const buf = encodeCommands([['LLEN', 'q'], ['ZCOUNT', 'tl', 1700000000, '+inf'], ['GET', 'ключ'], ['XRANGE', 's', '-', '+', 'COUNT', 1]]);
    expect(buf.toString('utf8')).toBe(
      '*2\r\n$4\r\nLLEN\r\n$1\r\nq\r\n' +
        '*4\r\n$6\r\nZCOUNT\r\n$2\r\ntl\r\n$10\r\n1700000000\r\n$4\r\n+inf\r\n' +
        '*2\r\n$3\r\nGET\r\n$8\r\nключ\r\n' +
        '*6\r\n$6\r\nXRANGE\r\n$1\r\ns\r\n$1\r\n-\r\n$1\r\n+\r\n$5\r\nCOUNT\r\n$1\r\n1\r\n',
    );
  });

  it('handles empty, long and many arguments', () => {
    const long = 'k'.repeat(1000);
    const cmds: [string, ...(string | number)[]][] = [['GET', ''], ['GET', long], ['MGET', ...Array.from({ length: 3000 }, (_, i) => `key:${i}`)]];
    const buf = encodeCommands(cmds);
    // Round-trip through the parser: a request is itself a valid RESP2 array.
    const out = parseAll([buf]);
    expect(out).toEqual(cmds.map((c) => c.map(String)));
  });

  it('refuses non-finite numbers', () => {
    expect(() => encodeCommands([['ZCOUNT', 'k', Number.NaN, 1]])).toThrow(TypeError);
  });
});
