/**
 * MySQL as mysqld_exporter's three scrapers through the engine: each
 * statement (`global_status`, `global_variables`, `info_schema.processlist`)
 * is a collector run of its own, beside the connection's `mysql` run.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScrapeEngine } from '../../src/collect/engine.js';
import { MysqlCollector } from '../../src/collect/mysql.js';
import type { MysqlConfig } from '../../src/config/schema.js';
import type { BatchExecutor } from '../../src/redis/batch.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';

const log = pino({ level: 'silent' });
/** No Redis collector is configured: the engine must not send a batch. */
const noRedis: BatchExecutor = {
  exec: () => Promise.reject(new Error('no Redis batch expected')),
  scanKeys: () => Promise.reject(new Error('no SCAN expected')),
  close: async () => undefined,
};

let server: MariadbServer;
const open: MysqlCollector[] = [];

function engineFor(cfg: MysqlConfig): ScrapeEngine {
  const mysql = new MysqlCollector(cfg, log);
  open.push(mysql);
  return new ScrapeEngine({
    executor: noRedis,
    collectors: () => [],
    side: [{ name: 'mysql', collect: (sink, deadline, scraper) => mysql.collect(sink, deadline, scraper) }],
    cacheForMs: 0,
    log,
  });
}

const success = (c: Awaited<ReturnType<ScrapeEngine['collect']>>, collector: string) => c.value('queuescope_scrape_collector_success', { collector });
const duration = (c: Awaited<ReturnType<ScrapeEngine['collect']>>, collector: string) => c.value('queuescope_scrape_collector_duration_seconds', { collector });

beforeAll(async () => {
  server = await startMariadb();
});

afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await server?.stop();
});

describe('MySQL scrapers', () => {
  it('reports the connection and each of the three statements with its own success and duration', async () => {
    const c = await engineFor({ url: server.url, timeout: 2000, processlist: true }).collect(Date.now() + 5000);
    expect(c.value('mysql_up')).toBe(1);
    for (const name of ['mysql', 'global_status', 'global_variables', 'info_schema.processlist']) {
      expect(success(c, name), name).toBe(1);
      expect(duration(c, name), name).toBeGreaterThan(0);
    }
    // A statement's time is part of the connection's.
    expect(duration(c, 'global_status')!).toBeLessThanOrEqual(duration(c, 'mysql')!);
  });

  it('has no processlist scraper when processlist is off', async () => {
    const c = await engineFor({ url: server.url, timeout: 2000, processlist: false }).collect(Date.now() + 5000);
    expect(success(c, 'global_variables')).toBe(1);
    expect(success(c, 'info_schema.processlist')).toBeUndefined();
  });

  it('charges an unreachable server to the connection, and runs no statement', async () => {
    const url = server.url.replace(/:(\d+)\/$/, ':1/');
    const c = await engineFor({ url, timeout: 500, processlist: true }).collect(Date.now() + 3000);
    expect(c.value('mysql_up')).toBe(0);
    expect(success(c, 'mysql')).toBe(0);
    expect(success(c, 'global_status')).toBeUndefined();
  });
});
