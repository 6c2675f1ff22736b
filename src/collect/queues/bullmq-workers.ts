/**
 * BullMQ workers by client name, as BullMQ's own `Queue.getWorkers()` finds
 * them (bullmq 6.7.0, `classes/queue-getters.js` and
 * `classes/redis-queue-backend.js`): a Worker names its blocking connection
 * `<prefix>:<base64(queue name)>`, or `<prefix>:<base64(queue name)>:w:<worker name>`
 * when given a `name`, and `getWorkers()` counts the `CLIENT LIST` entries
 * with exactly that name or that name followed by `:w:`. `CLIENT LIST` is a
 * read (it changes nothing), sent once per scrape per node, not per queue.
 * A SIGKILLed worker's connection disappears with it, so the count is live.
 */

/** The client name of `queue`'s unnamed workers (`RedisQueueBackend.clientName`). */
export function bullmqClientName(prefix: string, queue: string): string {
  return `${prefix}:${Buffer.from(queue).toString('base64')}`;
}

/**
 * The `name=` of every client in a `CLIENT LIST` reply. Redis writes the name
 * as one space-free token (`CLIENT SETNAME` refuses spaces).
 */
export function clientNames(list: string): string[] {
  const out: string[] = [];
  for (const line of list.split(/\r?\n/)) {
    const m = /(?:^| )name=(\S*)/.exec(line);
    if (m && m[1]) out.push(m[1]);
  }
  return out;
}

/**
 * Workers per queue: for each `[prefix, queue]` the number of client names
 * that `getWorkers()` would match.
 */
export function countWorkers(names: readonly string[], queues: readonly { readonly prefix: string; readonly name: string }[]): number[] {
  const index = new Map<string, number>();
  queues.forEach((q, i) => index.set(bullmqClientName(q.prefix, q.name), i));
  const counts = queues.map(() => 0);
  for (const n of names) {
    let hit = index.get(n);
    // A named worker: `<client name>:w:<worker name>` (the worker name may contain ':w:' itself).
    for (let at = n.indexOf(':w:'); hit === undefined && at !== -1; at = n.indexOf(':w:', at + 1)) hit = index.get(n.slice(0, at));
    if (hit !== undefined) counts[hit]!++;
  }
  return counts;
}
