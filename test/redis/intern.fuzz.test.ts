/**
 * The short-string table of the RESP parser (src/redis/intern.ts): whatever
 * was decoded before and wherever its slot, the string handed out is the one
 * the decoder gives for those bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internBytes, MAX_INTERNED_BYTES } from '../../src/redis/intern.js';
import { fuzzParams } from '../helpers/fuzz.js';

const decode = (buf: Buffer, start: number, end: number): string => buf.toString('latin1', start, end);

describe('internBytes', () => {
  it('answers what the decoder answers, for any sequence of short byte strings', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: MAX_INTERNED_BYTES }), { maxLength: 200 }), (items) => {
        for (const bytes of items) {
          // at an offset inside a larger buffer, as the parser passes them
          const buf = Buffer.concat([Buffer.from('xx'), Buffer.from(bytes), Buffer.from('yy')]);
          expect(internBytes(buf, 2, 2 + bytes.length, decode)).toBe(decode(buf, 2, 2 + bytes.length));
        }
      }),
      fuzzParams(200),
    );
  });

  it('hands out the same string object for the same bytes seen again', () => {
    const a = internBytes(Buffer.from('last-delivered-id'), 0, 17, decode);
    const b = internBytes(Buffer.from('..last-delivered-id'), 2, 19, decode);
    expect(b).toBe(a);
    let decoded = 0;
    const counting = (buf: Buffer, s: number, e: number) => {
      decoded++;
      return decode(buf, s, e);
    };
    internBytes(Buffer.from('consumers'), 0, 9, counting);
    internBytes(Buffer.from('consumers'), 0, 9, counting);
    expect(decoded).toBe(1);
  });
});
