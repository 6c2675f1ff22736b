/**
 * ioredis, loaded on first use. The standalone scrape path speaks RESP on its
 * own socket (raw-connection.ts); ioredis is only needed for Sentinel,
 * Cluster, the relay's Redis store and the demo — and loading it cost the
 * standalone sidecar ~3 MiB of idle RSS it carried for nothing (issue 14).
 * ioredis is CommonJS, so `require` keeps every caller synchronous.
 */
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';

let loaded: typeof IORedis | undefined;

/** The ioredis module (`Redis`, `Cluster`, …); the first call loads it. @throws Error when ioredis is not installed */
export function ioredis(): typeof IORedis {
  return (loaded ??= createRequire(import.meta.url)('ioredis') as typeof IORedis);
}
