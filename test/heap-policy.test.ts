/**
 * The sidecar's heap policy (src/heap-policy.ts): which flags it sets, and
 * that an operator's own flags win.
 */
import { describe, expect, it } from 'vitest';
import { applyHeapPolicy, HEAP_FLAGS, heapFlagsToSet } from '../src/heap-policy.js';

describe('heap policy', () => {
  it('sets both flags when the operator set none', () => {
    expect(heapFlagsToSet([])).toEqual([...HEAP_FLAGS]);
    expect(heapFlagsToSet(['--enable-source-maps', '--max-old-space-size=512'])).toEqual([...HEAP_FLAGS]);
  });

  it("leaves a flag the operator set, in either spelling, and any young-generation size of theirs", () => {
    expect(heapFlagsToSet(['--heap-growing-percent=100'])).toEqual(['--semi-space-growth-factor=1']);
    expect(heapFlagsToSet(['--heap_growing_percent=100'])).toEqual(['--semi-space-growth-factor=1']);
    expect(heapFlagsToSet(['--max-semi-space-size=8'])).toEqual(['--heap-growing-percent=50']);
    expect(heapFlagsToSet(['--max_semi_space_size=8', '--heap-growing-percent=20'])).toEqual([]);
  });

  it('is off with QUEUESCOPE_HEAP_POLICY=off and reads NODE_OPTIONS', () => {
    expect(applyHeapPolicy([], '', 'off')).toEqual([]);
    expect(applyHeapPolicy([], '--max-semi-space-size=4 --heap-growing-percent=50', undefined)).toEqual([]);
  });
});
