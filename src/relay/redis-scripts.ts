/**
 * The Lua scripts of the shared Redis outbox (redis-store.ts). Each runs
 * atomically on the Redis server, which is what lets several replicas act as
 * one robot client: the accept-or-merge-or-dedupe decision, the sender lease
 * and the sliding-window budget cannot interleave between replicas.
 *
 * Times come from the Redis server's `TIME`, so replicas with skewed clocks
 * still share one window. (Redis ≥ 5 replicates script effects, so TIME in a
 * writing script is allowed.)
 *
 * Keys (all under one hash tag so a cluster would keep them in one slot):
 *   seq, bytes                 global id counter, stored payload bytes
 *   q:<robot>   ZSET  id → acceptedAt ms        the queue, in order
 *   n:<robot>   HASH  id → compact payload JSON
 *   g:<robot>   HASH  group → id (latest entry of the group)
 *   gi:<robot>  HASH  id → group
 *   s:<robot>   SET   ids claimed by the sender (being sent)
 *   lease:<robot>     owner id of the replica that sends for the robot, with a TTL
 *   b:<robot>   ZSET  call token → start / finish time ms (the rate window)
 *   d:<key>           de-duplication marker with a TTL
 */

/** The supersede rule of compact.ts `supersede()`, in Lua (cjson is built into Redis). */
const MERGE = `
local function merge(olderJson, newerJson)
  local older = cjson.decode(olderJson)
  local newer = cjson.decode(newerJson)
  local seen = {}
  for _, a in ipairs(newer.alerts) do seen[a.fingerprint] = true end
  local added = false
  for _, a in ipairs(older.alerts) do
    if a.status == 'resolved' and not seen[a.fingerprint] then
      table.insert(newer.alerts, a)
      seen[a.fingerprint] = true
      added = true
    end
  end
  if not added then return newerJson end
  return cjson.encode(newer)
end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * accept. KEYS: seq, bytes, q, n, g, gi, s, d. ARGV: group, json, maxBytes, dedupeTtlMs.
 * Returns {'deduplicated'} | {'full', bytes} | {'superseded', id} | {'stored', id}.
 */
export const ACCEPT = `${MERGE}
if redis.call('EXISTS', KEYS[8]) == 1 then return {'deduplicated'} end
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
local maxBytes = tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[5], ARGV[1])
if old and redis.call('SISMEMBER', KEYS[7], old) == 0 then
  local oj = redis.call('HGET', KEYS[4], old)
  if oj then
    local mj = merge(oj, ARGV[2])
    if total - #oj + #mj > maxBytes then return {'full', tostring(total)} end
    redis.call('HSET', KEYS[4], old, mj)
    redis.call('INCRBY', KEYS[2], #mj - #oj)
    redis.call('SET', KEYS[8], '1', 'PX', ARGV[4])
    return {'superseded', old}
  end
end
if total + #ARGV[2] > maxBytes then return {'full', tostring(total)} end
local id = string.format('%016d', redis.call('INCR', KEYS[1]))
redis.call('ZADD', KEYS[3], nowMs(), id)
redis.call('HSET', KEYS[4], id, ARGV[2])
redis.call('HSET', KEYS[5], ARGV[1], id)
redis.call('HSET', KEYS[6], id, ARGV[1])
redis.call('INCRBY', KEYS[2], #ARGV[2])
redis.call('SET', KEYS[8], '1', 'PX', ARGV[4])
return {'stored', id}
`;

/**
 * unclaim. KEYS: bytes, q, n, g, gi, s. ARGV: ids (ascending).
 * Puts claimed ids back; a newer queued entry of the same group is folded into the older one.
 * Returns the number of entries folded away.
 */
export const UNCLAIM = `${MERGE}
for _, id in ipairs(ARGV) do redis.call('SREM', KEYS[6], id) end
local folded = 0
for _, id in ipairs(ARGV) do
  local grp = redis.call('HGET', KEYS[5], id)
  if grp then
    local latest = redis.call('HGET', KEYS[4], grp)
    if not latest then
      redis.call('HSET', KEYS[4], grp, id)
    elseif latest ~= id and redis.call('SISMEMBER', KEYS[6], latest) == 0 then
      local oj = redis.call('HGET', KEYS[3], id)
      local nj = redis.call('HGET', KEYS[3], latest)
      if oj and nj then
        local mj = merge(oj, nj)
        redis.call('HSET', KEYS[3], id, mj)
        redis.call('HDEL', KEYS[3], latest)
        redis.call('ZREM', KEYS[2], latest)
        redis.call('HDEL', KEYS[5], latest)
        redis.call('HSET', KEYS[4], grp, id)
        redis.call('INCRBY', KEYS[1], #mj - #oj - #nj)
        folded = folded + 1
      end
    end
  end
end
return folded
`;

/** complete. KEYS: bytes, q, n, g, gi, s. ARGV: ids. Removes them. */
export const COMPLETE = `
for _, id in ipairs(ARGV) do
  local json = redis.call('HGET', KEYS[3], id)
  if json then
    redis.call('INCRBY', KEYS[1], -#json)
    redis.call('HDEL', KEYS[3], id)
  end
  redis.call('ZREM', KEYS[2], id)
  redis.call('SREM', KEYS[6], id)
  local grp = redis.call('HGET', KEYS[5], id)
  if grp then
    redis.call('HDEL', KEYS[5], id)
    if redis.call('HGET', KEYS[4], grp) == id then redis.call('HDEL', KEYS[4], grp) end
  end
end
return 1
`;

/**
 * acquire. KEYS: lease, s. ARGV: owner, ttlMs.
 * Returns {'renewed'} | {'held'} | {'acquired', orphaned ids...}.
 */
export const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'renewed'}
end
if cur then return {'held'} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local out = {'acquired'}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do table.insert(out, id) end
return out
`;

/** release. KEYS: lease. ARGV: owner. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/**
 * reserve: the sliding window. KEYS: b. ARGV: count, windowMs, marginMs, token.
 * A call counts from its start (reservation) and, once finished, from its
 * finish time; never more than `count` in any window of `windowMs`.
 * Returns {1, 0} when reserved, {0, waitMs} otherwise.
 */
export const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local count = tonumber(ARGV[1])
local span = tonumber(ARGV[2]) + tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - span + 1))
local n = redis.call('ZCARD', KEYS[1])
if n < count then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], span * 2)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], n - count, n - count, 'WITHSCORES')
local wait = tonumber(oldest[2]) + span - now
if wait < 1 then wait = 1 end
return {0, wait}
`;

/** finish. KEYS: b. ARGV: token. Moves the call's time in the window to now (only if still there). */
export const FINISH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 1
`;
