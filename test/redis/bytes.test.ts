/**
 * Keys are bytes (issue 10 #9): the escape that carries bytes outside UTF-8
 * through JS strings is exact both ways, and label values get a defined form.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeBytes, encodeString, escapeForLabel, hasEscapedBytes } from '../../src/redis/bytes.js';
import { encodeCommands, RespParser, type RespValue } from '../../src/redis/resp.js';
import { keySlot } from '../../src/redis/slot.js';
import { fuzzParams } from '../helpers/fuzz.js';

describe('key bytes', () => {
  test('any bytes survive decode -> encode exactly; valid UTF-8 decodes as plain text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
        const bytes = Buffer.from(a);
        const s = decodeBytes(bytes);
        expect(encodeString(s).equals(bytes)).toBe(true);
        const strict = new TextDecoder('utf-8', { fatal: true });
        let valid = true;
        try {
          expect(s).toBe(strict.decode(bytes));
        } catch {
          valid = false;
        }
        expect(hasEscapedBytes(s)).toBe(!valid);
      }),
      fuzzParams(1000),
    );
  });

  test('a valid character whose low surrogate looks like an escaped byte is text (fast-check counter-example)', () => {
    const bytes = Buffer.from([240, 144, 178, 128]); // U+10C80, UTF-16 D803 DC80
    const s = decodeBytes(bytes);
    expect(s).toBe('\u{10C80}');
    expect(hasEscapedBytes(s)).toBe(false);
    expect(encodeString(s).equals(bytes)).toBe(true);
    expect(escapeForLabel(s)).toBe(s);
    expect(hasEscapedBytes('\udc80')).toBe(true);
  });

  test('through the RESP parser and encoder: a binary key goes back as its own bytes', () => {
    const key = Buffer.from([0x71, 0x3a, 0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0xac]); // q: ff fe (bad) c3 28 (bad) € (good)
    const got: RespValue[] = [];
    new RespParser((r) => got.push(r)).push(Buffer.concat([Buffer.from(`$${key.length}\r\n`), key, Buffer.from('\r\n')]));
    const text = got[0] as string;
    expect(text).toBe('q:\udcff\udcfe\udcc3(€');
    const wire = encodeCommands([['LLEN', text]]);
    expect(wire.equals(Buffer.concat([Buffer.from(`*2\r\n$4\r\nLLEN\r\n$${key.length}\r\n`), key, Buffer.from('\r\n')]))).toBe(true);
    expect(keySlot(text)).toBe(keySlot(key));
  });

  test('label values: escaped bytes as \\xNN, stray surrogates as U+FFFD, text unchanged', () => {
    expect(escapeForLabel('q:\udcff\udcfe€😀')).toBe('q:\\xff\\xfe€😀');
    expect(escapeForLabel('a\ud800b\udc00')).toBe('a\uFFFDb\uFFFD');
    expect(escapeForLabel('plain')).toBe('plain');
  });
});
