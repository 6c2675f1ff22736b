/**
 * What travels to Redis and back on the scrape path. Owned by the Redis layer
 * (the engine and the layouts above it build commands and read replies; the
 * executors below it send them), so `redis/` never imports the engine.
 */

/** One Redis command: name then arguments, e.g. `['LLEN', 'task:queue']`. Read-only commands only. */
export type Command = readonly [name: string, ...args: (string | number)[]];

/**
 * One command's reply as ioredis' pipeline gives it: `[error, value]`. `error` is
 * set for a Redis error reply (WRONGTYPE, unknown command…) or a failed batch.
 */
export type Reply = readonly [error: Error | null, value: unknown];
