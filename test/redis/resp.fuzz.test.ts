/**
 * The RESP2 parser against any reply shape cut at any bytes, and against
 * lengths past its caps (issue 10 #4 and fuzzing): it yields exactly the
 * replies sent, in order; a reply past a cap becomes one error value in its
 * place with the stream still in step; random bytes give values or a
 * RespProtocolError, never another exception.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeBytes, encodeString } from '../../src/redis/bytes.js';
import { encodeCommands, RespParser, RespProtocolError, RespReplyError, type RespLimits, type RespValue } from '../../src/redis/resp.js';
import { fuzzParams, fuzzTimeoutMs } from '../helpers/fuzz.js';

/** A reply as the model sees it. */
type Model = { t: 'simple'; s: string } | { t: 'error'; s: string } | { t: 'int'; n: number } | { t: 'bulk'; b: Buffer | null } | { t: 'array'; items: Model[] | null };

function encode(m: Model): Buffer {
  switch (m.t) {
    case 'simple':
      return Buffer.from(`+${m.s}\r\n`);
    case 'error':
      return Buffer.from(`-${m.s}\r\n`);
    case 'int':
      return Buffer.from(`:${m.n}\r\n`);
    case 'bulk':
      return m.b === null ? Buffer.from('$-1\r\n') : Buffer.concat([Buffer.from(`$${m.b.length}\r\n`), m.b, Buffer.from('\r\n')]);
    case 'array':
      return m.items === null ? Buffer.from('*-1\r\n') : Buffer.concat([Buffer.from(`*${m.items.length}\r\n`), ...m.items.map(encode)]);
  }
}

/** What the parser must yield for `m`: bulk strings as text, bytes outside UTF-8 escaped (redis/bytes.ts). */
function expected(m: Model): unknown {
  switch (m.t) {
    case 'simple':
      return m.s;
    case 'error':
      return { error: m.s };
    case 'int':
      return m.n;
    case 'bulk':
      if (m.b === null) return null;
      return decodeBytes(m.b);
    case 'array':
      return m.items === null ? null : m.items.map(expected);
  }
}

function normalise(v: RespValue): unknown {
  if (v instanceof RespReplyError) return { error: v.message };
  if (Array.isArray(v)) return v.map(normalise);
  return v;
}

const line = fc.string({ unit: fc.constantFrom(...'abcXYZ 019-_:é€'.split('')), maxLength: 12 });
const { model } = fc.letrec<{ model: Model }>((tie) => ({
  model: fc.oneof(
    { depthSize: 'small' },
    line.map((s): Model => ({ t: 'simple', s })),
    line.map((s): Model => ({ t: 'error', s: `ERR ${s}` })),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map((n): Model => ({ t: 'int', n })),
    fc.option(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { freq: 8 }).map((b): Model => ({ t: 'bulk', b })),
    fc.option(fc.array(tie('model'), { maxLength: 5 }), { freq: 8 }).map((items): Model => ({ t: 'array', items })),
  ),
}));

/** Cuts `bytes` at the given fractional points. */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => Math.floor(p * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of at) {
    if (p > prev) out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function parseChunks(chunks: Buffer[], limits?: Partial<RespLimits>): unknown[] {
  const out: unknown[] = [];
  const p = new RespParser((r) => out.push(normalise(r)), limits);
  for (const c of chunks) p.push(c);
  return out;
}

/** As a socket with a static read buffer (`onread`) delivers: every chunk in one scratch buffer, overwritten after each push. */
function parseChunksTransient(chunks: Buffer[], limits?: Partial<RespLimits>): unknown[] {
  const out: unknown[] = [];
  const p = new RespParser((r) => out.push(normalise(r)), limits);
  const scratch = Buffer.alloc(Math.max(1, ...chunks.map((c) => c.length)));
  for (const c of chunks) {
    c.copy(scratch);
    p.push(scratch.subarray(0, c.length), true);
    scratch.fill(0x2a); // what the next read would do to anything the parser kept by reference
  }
  return out;
}

const splits = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

describe('RESP2 parser (fuzz)', () => {
  test(
    'any replies, cut anywhere: exactly the replies sent',
    () => {
      fc.assert(
        fc.property(fc.array(model, { minLength: 1, maxLength: 6 }), splits, (replies, points) => {
          const bytes = Buffer.concat(replies.map(encode));
          expect(parseChunks(cut(bytes, points))).toEqual(replies.map(expected));
          // and one byte at a time
          expect(parseChunks([...bytes].map((x) => Buffer.from([x])))).toEqual(replies.map(expected));
          // and from a reused read buffer (src/redis/raw-connection.ts, plain TCP)
          expect(parseChunksTransient(cut(bytes, points))).toEqual(replies.map(expected));
          expect(parseChunksTransient([...bytes].map((x) => Buffer.from([x])))).toEqual(replies.map(expected));
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeoutMs(),
  );

  test(
    'a reply past a cap is one error in its place; the replies around it are intact',
    () => {
      const limits = { maxBulkBytes: 16, maxReplyBytes: 200, maxReplyElements: 8 };
      const big = fc.oneof(
        fc.integer({ min: 17, max: 150 }).map((n): Model => ({ t: 'bulk', b: Buffer.alloc(n, 0x61) })),
        fc.integer({ min: 9, max: 30 }).map((n): Model => ({ t: 'array', items: Array.from({ length: n }, (_, i) => ({ t: 'int', n: i })) })),
        fc.array(model, { minLength: 1, maxLength: 3 }).map((items): Model => ({ t: 'array', items: [...items, { t: 'bulk', b: Buffer.alloc(40, 0x62) }] })),
      );
      fc.assert(
        fc.property(model, big, model, splits, (before, huge, after, points) => {
          const bytes = Buffer.concat([before, huge, after].map(encode));
          const got = parseChunks(cut(bytes, points), limits);
          expect(parseChunksTransient(cut(bytes, points), limits)).toEqual(got);
          expect(got).toHaveLength(3);
          const fits = (m: Model): boolean => encode(m).length <= limits.maxReplyBytes && JSON.stringify(expected(m)).length < 10_000;
          if (fits(before) && !tooBig(before, limits)) expect(got[0]).toEqual(expected(before));
          expect(got[1]).toMatchObject({ error: expect.stringMatching(/^ERR reply too large for queuescope: /) });
          if (fits(after) && !tooBig(after, limits)) expect(got[2]).toEqual(expected(after));
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeoutMs(),
  );

  test(
    'random bytes: values or a RespProtocolError, nothing else',
    () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
        fc.array(fc.constantFrom('*', '$', ':', '+', '-', '\r\n', '3', '-1', '2000000000', 'x', '\r', '\n', '0'), { maxLength: 40 }).map((a) => Buffer.from(a.join(''))),
      );
      fc.assert(
        fc.property(bytes, splits, (b, points) => {
          const p = new RespParser(() => {}, { maxBulkBytes: 64, maxReplyBytes: 256, maxReplyElements: 16 });
          try {
            for (const c of cut(b, points)) p.push(c);
          } catch (err) {
            if (!(err instanceof RespProtocolError)) throw err;
          }
        }),
        fuzzParams(500),
      );
    },
    fuzzTimeoutMs(),
  );

  // Regression (issue 10 #4): `$2000000000` took the process to 1.87 GB after one scrape.
  test('regression: a 2 GB bulk length is skipped without keeping it', () => {
    const got: unknown[] = [];
    const p = new RespParser((r) => got.push(normalise(r)));
    p.push(Buffer.from('$2000000000\r\n'));
    const mib = Buffer.alloc(1024 * 1024, 0x7a);
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 64; i++) p.push(mib); // 64 MiB of it arrive…
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024); // …and are not kept
    expect(got).toEqual([]);
    // the rest of it, its CRLF, then a normal reply
    let left = 2_000_000_000 - 64 * 1024 * 1024;
    const big = Buffer.alloc(16 * 1024 * 1024, 0x7a);
    while (left > big.length) {
      p.push(big);
      left -= big.length;
    }
    p.push(Buffer.concat([Buffer.alloc(left, 0x7a), Buffer.from('\r\n:7\r\n')]));
    expect(got).toEqual([{ error: expect.stringMatching(/a bulk string of 2000000000 bytes/) }, 7]);
  });

  test('regression: an array header of 100 million elements allocates nothing', () => {
    const got: unknown[] = [];
    const p = new RespParser((r) => got.push(normalise(r)), { maxReplyElements: 1000 });
    p.push(Buffer.from('*100000000\r\n'));
    p.push(Buffer.from(':1\r\n'.repeat(10)));
    expect(got).toEqual([]);
  });
});

/** Whether `m` itself breaks a limit (then its own slot is an error too). */
function tooBig(m: Model, limits: RespLimits): boolean {
  let elements = 0;
  const walk = (x: Model): boolean => {
    if (x.t === 'bulk' && x.b && x.b.length > limits.maxBulkBytes) return true;
    if (x.t === 'array' && x.items) {
      elements += x.items.length;
      if (elements > limits.maxReplyElements) return true;
      return x.items.some(walk);
    }
    return false;
  };
  return walk(m);
}

describe('encodeCommands (fuzz)', () => {
  /** The encoding spelled out: every argument's text (numbers as String(n)) or, for escaped key bytes, the bytes it stands for. */
  const reference = (commands: readonly (readonly (string | number)[])[]): Buffer =>
    Buffer.concat(
      commands.flatMap((c) => [
        Buffer.from(`*${c.length}\r\n`),
        ...c.flatMap((arg) => {
          const bytes = typeof arg === 'number' ? Buffer.from(String(arg)) : encodeString(arg);
          return [Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')];
        }),
      ]),
    );
  const ascii = fc.string({ unit: fc.constantFrom(...'abz:_-{}019+('.split('')), maxLength: 90 });
  const escaped = fc.string({ unit: fc.oneof(fc.constantFrom('a', ':'), fc.integer({ min: 0x80, max: 0xff }).map((b) => String.fromCharCode(0xdc00 + b))), maxLength: 12 });
  const arg = fc.oneof(
    ascii,
    fc.string({ unit: 'binary', maxLength: 80 }),
    escaped,
    fc.integer(),
    fc.maxSafeInteger(),
    fc.constantFrom(0, -0, 1e15, 1e16, 2 ** 53, -(2 ** 53), 1_700_000_000_000),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );
  test('any finite numbers and strings: the bytes of each argument as Redis reads them', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('GET', 'ZCOUNT'), fc.array(arg, { maxLength: 5 })), { maxLength: 8 }), (cmds) => {
        const commands = cmds.map(([name, args]) => [name, ...args] as [string, ...(string | number)[]]);
        const ends = new Int32Array(commands.length);
        const got = encodeCommands(commands, ends);
        const want = reference(commands);
        expect(got.equals(want)).toBe(true);
        // ends: the offset past each command
        let at = 0;
        commands.forEach((c, i) => {
          at += reference([c]).length;
          expect(ends[i]).toBe(at);
        });
      }),
      fuzzParams(300),
    );
  });
});
