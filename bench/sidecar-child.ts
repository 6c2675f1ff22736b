/**
 * The bench's sidecar child (forked by `startSidecar` in `sidecar.ts`): the
 * sidecar's heap policy first, as `src/cli.ts` has it, then only what the
 * sidecar itself loads — no bench helpers (their ioredis client and test
 * helpers, ~2 MiB of RSS that `queuescope` does not carry). It receives
 * the raw config over IPC, serves `buildApp` on a free loopback port and
 * answers that port.
 */
import '../src/heap-policy.js';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { configSchema } from '../src/config/schema.js';
import type { SidecarReply } from './sidecar.js';

process.on('disconnect', () => process.exit(0));
// SIGTERM must end the process normally so --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));
const send = (m: SidecarReply) => process.send?.(m);
process.once('message', (raw: unknown) => {
  void (async () => {
    try {
      const config = configSchema.parse(raw);
      const app = await buildApp(config, { log: pino({ level: 'silent' }) });
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      send({ port: Number(new URL(address).port) });
    } catch (err) {
      send({ error: (err as Error).stack ?? String(err) });
      setTimeout(() => process.exit(1), 100);
    }
  })();
});
