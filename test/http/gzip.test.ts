/**
 * The /metrics gzip joiner: a cached deflate part plus a fresh tail is one
 * valid gzip member (inflates to head + tail with a correct CRC and length,
 * for any texts), a head deflated piece by piece equals the joined one, and
 * Accept-Encoding negotiation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, deflatePart, deflateParts, gzipJoin } from '../../src/http/gzip.js';

const RUNS = Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 100);

describe('gzipJoin', () => {
  it('inflates to head + tail for any texts, reusing one head', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 5000 }), fc.array(fc.string({ unit: 'binary', maxLength: 2000 }), { minLength: 1, maxLength: 3 }), (head, tails) => {
        const part = deflatePart(head);
        for (const tail of tails) {
          const gz = gzipJoin(part, tail);
          // One member: gunzip checks CRC-32 and ISIZE of the whole text.
          expect(gunzipSync(gz).toString('utf8')).toBe(head + tail);
          expect(gz[0]).toBe(0x1f);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('compresses a large repetitive page well', () => {
    const line = (i: number) => `queue_tasks{queue="list-${i}",framework="list",state="waiting"} ${i % 97}\n`;
    let page = '';
    for (let i = 0; i < 20_000; i++) page += line(i);
    const gz = gzipJoin(deflatePart(page), '# EOF\n');
    expect(gunzipSync(gz).toString()).toBe(`${page}# EOF\n`);
    expect(gz.length).toBeLessThan(Buffer.byteLength(page) / 5);
  });
});

describe('deflateParts', () => {
  // Pieces around the 64 KiB join threshold: small runs joined, large ones deflated alone, empties skipped.
  const piece = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4000 })).map(([s, n]) => s.repeat(n).slice(0, 70_000)),
  );

  it('inflates to the pieces joined, with the tail, for any pieces', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.string({ maxLength: 200 }), (texts, tail) => {
        const part = deflateParts(texts.map((t) => Buffer.from(t, 'utf8')));
        const joined = texts.join('');
        expect(part.length).toBe(Buffer.byteLength(joined));
        expect(gunzipSync(gzipJoin(part, tail)).toString('utf8')).toBe(joined + tail);
      }),
      { numRuns: Math.max(10, Math.floor(RUNS / 4)) },
    );
  });

  it('answers an empty head for no pieces', () => {
    expect(gunzipSync(gzipJoin(deflateParts([]), 'x')).toString()).toBe('x');
  });
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['deflate, gzip;q=0.5', true],
    ['x-gzip', true],
    ['*', true],
    ['identity', false],
    ['gzip;q=0', false],
    ['gzip;q=0, *', false],
    ['*;q=0', false],
    ['br', false],
    ['', false],
  ])('%s -> %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
  it('absent header -> false', () => expect(acceptsGzip(undefined)).toBe(false));
});
