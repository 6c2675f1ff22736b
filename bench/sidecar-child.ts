/**
 * The entry of the bench's sidecar child (forked by `startSidecar` in
 * `sidecar.ts`): the sidecar's heap policy first, as `src/cli.ts` has it,
 * then only the sidecar's own modules — not the bench's workload loaders and
 * clients, whose memory would otherwise count in the sidecar's RSS.
 */
import '../src/heap-policy.js';
import { sidecarMain } from './sidecar.js';

void sidecarMain();
