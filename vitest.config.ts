import { defineConfig } from 'vitest/config';

// Integration tests start real servers (redis-server, mariadbd, prometheus,
// alertmanager, chromium); two workers fit the 2-core machines CI runs on.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
