/**
 * A private Redis Cluster for one test file (or benchmark): N masters, no
 * replicas, on free 127.0.0.1 ports, created with
 * `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`.
 *
 * Gives per-node clients (plain connections, for checks "on the node that owns
 * the key"), a cluster client for seeding data, and slot migration by hand
 * (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE, SETSLOT NODE) so tests can
 * stop a resharding half-way.
 */
import { spawnSync } from 'node:child_process';
import { Cluster, type Redis } from 'ioredis';
import { findBinary } from './binaries.js';
import { waitFor } from './ports.js';
import { startRedis, type RedisServer } from './redis-server.js';

export interface ClusterNodeServer {
  readonly server: RedisServer;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** the node's cluster id (`CLUSTER MYID`) */
  readonly id: string;
  /** a plain client to this node only */
  readonly client: Redis;
}

export interface RedisClusterHandle {
  readonly nodes: readonly ClusterNodeServer[];
  /** `127.0.0.1:<port>` of every node (seed list) */
  readonly seeds: string[];
  /** A cluster client for setup writes (follows MOVED / ASK itself). */
  readonly client: Cluster;
  /** The node that owns `slot` now, asked of the node itself (CLUSTER SLOTS on node 0). */
  ownerOfSlot(slot: number): Promise<ClusterNodeServer>;
  /** `CLUSTER KEYSLOT key`, asked of Redis. */
  keySlot(key: string): Promise<number>;
  /** The node owning `key` now. */
  ownerOf(key: string): Promise<ClusterNodeServer>;
  /**
   * Moves one slot from its owner to `to`, step by step (Redis cluster spec,
   * "Live reconfiguration"). `between` runs after IMPORTING/MIGRATING are set
   * and after each key moved (the window where the source answers ASK);
   * `beforeFinal` runs after the keys moved and before SETSLOT NODE.
   * `announce` decides which nodes get SETSLOT NODE: `all` (default), or
   * `target` (only the new owner: the others still send clients to the old
   * one, which answers MOVED).
   */
  migrateSlot(
    slot: number,
    to: ClusterNodeServer,
    hooks?: { between?: (moved: number) => Promise<void>; beforeFinal?: () => Promise<void>; announce?: 'all' | 'target' },
  ): Promise<void>;
  /** Tells every node who owns `slot` (finishes a migration announced to the target only). */
  announceSlot(slot: number, owner: ClusterNodeServer): Promise<void>;
  /** Stops every node and client; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled redis-servers and joins them into one cluster.
 * @throws when redis-server / redis-cli are missing (naming the Debian package) or the cluster does not converge in 20 s.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const cli = findBinary('redis-cli', 'redis-tools');
  const servers: RedisServer[] = [];
  let client: Cluster | undefined;
  const stopAll = async (): Promise<void> => {
    client?.disconnect();
    await Promise.allSettled(servers.map((s) => s.stop()));
  };
  try {
    const started = await Promise.all(
      Array.from({ length: masters }, () =>
        startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']),
      ),
    );
    servers.push(...started);
    const seeds = servers.map((s) => `127.0.0.1:${s.port}`);
    const create = spawnSync(cli, ['--cluster', 'create', ...seeds, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 20_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.status}): ${(create.stdout + create.stderr).slice(-1500)}`);
    // Every node must see the whole cluster as ok, with all 16384 slots assigned.
    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        for (const s of servers) {
          const info = (await s.client.call('CLUSTER', 'INFO')) as string;
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info) || !new RegExp(`cluster_known_nodes:${masters}\\b`).test(info)) return false;
        }
        return true;
      },
      20_000,
      100,
    );
    const nodes: ClusterNodeServer[] = [];
    for (const s of servers) {
      nodes.push({ server: s, port: s.port, address: `127.0.0.1:${s.port}`, id: (await s.client.call('CLUSTER', 'MYID')) as string, client: s.client });
    }
    client = new Cluster(seeds.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })), { lazyConnect: true });
    client.on('error', () => {});
    await client.connect();
    const cl = client;

    const byPort = (port: number): ClusterNodeServer => {
      const n = nodes.find((x) => x.port === port);
      if (!n) throw new Error(`no test node on port ${port}`);
      return n;
    };
    const ownerOfSlot = async (slot: number): Promise<ClusterNodeServer> => {
      const ranges = (await nodes[0]!.client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
      for (const [from, to, master] of ranges) if (slot >= from && slot <= to) return byPort(Number(master[1]));
      throw new Error(`slot ${slot} has no owner`);
    };
    const keySlot = async (key: string): Promise<number> => Number(await nodes[0]!.client.call('CLUSTER', 'KEYSLOT', key));
    const announceSlot = async (slot: number, owner: ClusterNodeServer): Promise<void> => {
      // The new owner first, then the rest (as redis-cli does).
      await owner.client.call('CLUSTER', 'SETSLOT', slot, 'NODE', owner.id);
      for (const n of nodes) if (n !== owner) await n.client.call('CLUSTER', 'SETSLOT', slot, 'NODE', owner.id);
    };

    let stopped = false;
    return {
      nodes,
      seeds,
      client: cl,
      ownerOfSlot,
      keySlot,
      async ownerOf(key) {
        return ownerOfSlot(await keySlot(key));
      },
      async migrateSlot(slot, to, hooks = {}) {
        const from = await ownerOfSlot(slot);
        if (from === to) throw new Error(`slot ${slot} is already on ${to.address}`);
        await to.client.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
        await from.client.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
        let moved = 0;
        await hooks.between?.(moved);
        for (;;) {
          const keys = (await from.client.call('CLUSTER', 'GETKEYSINSLOT', slot, 1)) as string[];
          if (keys.length === 0) break;
          await from.client.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
          moved += keys.length;
          await hooks.between?.(moved);
        }
        await hooks.beforeFinal?.();
        if (hooks.announce === 'target') {
          await to.client.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
          // The source must stop answering ASK for the slot too, or it would keep redirecting per key.
          await from.client.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
        } else {
          await announceSlot(slot, to);
        }
      },
      announceSlot,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
