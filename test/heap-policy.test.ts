/**
 * The sidecar's heap policy (src/heap-policy.ts): which flags it sets, and
 * that an operator's own flags win.
 */
import { describe, expect, it } from 'vitest';
import { applyHeapPolicy, HEAP_FLAGS, heapFlagsToSet } from '../src/heap-policy.js';

describe('heap policy', () => {
  it('sets its flags when the operator set none', () => {
    expect(heapFlagsToSet([])).toEqual([...HEAP_FLAGS]);
    expect(heapFlagsToSet(['--enable-source-maps', '--max-old-space-size=512'])).toEqual([...HEAP_FLAGS]);
  });

  it("leaves a flag the operator set, in either spelling, and any young-generation size of theirs", () => {
    const reducer = '--gc-memory-reducer-start-delay-ms=2147483647';
    expect(heapFlagsToSet(['--heap-growing-percent=100'])).toEqual(['--semi-space-growth-factor=1', reducer]);
    expect(heapFlagsToSet(['--heap_growing_percent=100'])).toEqual(['--semi-space-growth-factor=1', reducer]);
    expect(heapFlagsToSet(['--max-semi-space-size=8'])).toEqual(['--heap-growing-percent=50', reducer]);
    expect(heapFlagsToSet(['--max_semi_space_size=8', '--heap-growing-percent=20'])).toEqual([reducer]);
    expect(heapFlagsToSet(['--max_semi_space_size=8', '--heap-growing-percent=20', '--no-memory-reducer'])).toEqual([]);
    expect(heapFlagsToSet(['--gc_memory_reducer_start_delay_ms=1000'])).toEqual(['--heap-growing-percent=50', '--semi-space-growth-factor=1']);
  });

  it('is off with QUEUESCOPE_HEAP_POLICY=off and reads NODE_OPTIONS', () => {
    expect(applyHeapPolicy([], '', 'off')).toEqual([]);
    expect(applyHeapPolicy([], '--max-semi-space-size=4 --heap-growing-percent=50', undefined)).toEqual(['--gc-memory-reducer-start-delay-ms=2147483647']);
  });
});
