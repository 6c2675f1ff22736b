/**
 * The /metrics gzip joiner: a cached deflate part plus a fresh tail is one
 * valid gzip member (inflates to head + tail with a correct CRC and length,
 * for any texts), and Accept-Encoding negotiation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, deflatePart, gzipJoin } from '../../src/http/gzip.js';

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
