/**
 * Redis Cluster key → hash slot, as the Cluster specification defines it
 * (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model):
 * `HASH_SLOT = CRC16(key) mod 16384`, CRC16-CCITT/XMODEM (poly 0x1021, init 0),
 * over the UTF-8 bytes of the hash tag when the key has one (`{…}`: the bytes
 * between the first `{` and the first `}` after it, when not empty).
 *
 * Written here rather than taken from `cluster-key-slot` (1.1.x, in the tree
 * through ioredis) because that package gets the spec's own
 * edge case wrong: for `foo{}{bar}` the first `{…}` is empty, so Redis hashes
 * the whole key (slot 8363), while `cluster-key-slot` hashes `{bar` (4015),
 * which would send such keys to the wrong master. `test/redis/slot.test.ts`
 * pins that case and the integration tests check every key against
 * `CLUSTER KEYSLOT`.
 */
import { encodeString } from './bytes.js';

/** Number of hash slots in a Redis Cluster. */
export const SLOT_COUNT = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

/** CRC16-XMODEM of `bytes[start, end)`. */
function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/**
 * The hash slot (0…16383) a key lives in.
 * @param key the key as sent to Redis (strings are encoded as UTF-8, escaped key bytes as themselves, see bytes.ts).
 */
export function keySlot(key: string | Uint8Array): number {
  const bytes = typeof key === 'string' ? encodeString(key) : key;
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b); // '{'
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  return crc16(bytes, start, end) % SLOT_COUNT;
}
