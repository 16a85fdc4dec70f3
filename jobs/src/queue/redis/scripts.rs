//! The Lua scripts: one per operation, so each operation is atomic and one round trip.
//!
//! Rules every script keeps: it touches keys of one queue only (one hash tag, so one cluster
//! slot); every loop is bounded by a limit passed in (ranges use `LIMIT 0 n`, no `KEYS`, no
//! `SCAN`, no `unpack()` of a list whose size the data decides); "now" is the server's clock
//! (`TIME`), and the client passes durations, never instants, so a worker whose clock is off
//! neither steals live leases nor runs retries early (see the module docs). Field names are
//! those of `codec.rs`.

use std::sync::LazyLock;

use redis::Script;

/// Prefixes a script with `now`: the Redis server's clock in milliseconds since the epoch.
macro_rules! on_server_clock {
    ($body:literal) => {
        concat!(
            "local clock = redis.call('TIME')\n",
            "local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)\n",
            $body
        )
    };
}
/// Shared with the dispatch throttle's scripts (`crate::throttle::redis`).
pub(crate) use on_server_clock;

/// Functions of the scripts that move jobs in and out of `ready` and `running`:
///
/// - `ready_push` puts a ready job in its tenant's list (`rq` prefix + tenant), at the back
///   (`LPUSH`) or, with `front`, next to be taken; a tenant whose list was empty joins the ring
///   of turns;
/// - `running_done` counts one job of the tenant's out of the `running` hash (tenant → jobs
///   running), which fetch reads for the per-tenant cap; a count that would go below one is
///   removed (jobs leased by a version that did not count them).
const TURNS: &str = r#"
local function ready_push(rq, turns, tenant, id, front)
  local list = rq .. tenant
  local n
  if front then n = redis.call('RPUSH', list, id) else n = redis.call('LPUSH', list, id) end
  if n == 1 then redis.call('LPUSH', turns, tenant) end
end
local function running_done(running, tenant)
  if tenant and redis.call('HINCRBY', running, tenant, -1) <= 0 then
    redis.call('HDEL', running, tenant)
  end
end
"#;

/// A script whose body may call the functions of [`TURNS`].
fn with_turns(body: &str) -> Script {
    Script::new(&format!("{TURNS}{body}"))
}

/// KEYS: job, tenant's ready list, delayed, index, turns. ARGV: id, state, run_at, index
/// member, tenant, then field/value pairs (a fixed, small number). Returns the existing hash
/// (HGETALL) if the id is taken, else 1.
pub(super) static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local existing = redis.call('HGETALL', KEYS[1])
if #existing > 0 then return existing end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[2] == 'scheduled' then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
elseif redis.call('LPUSH', KEYS[2], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[5], ARGV[5])
end
redis.call('ZADD', KEYS[4], 0, ARGV[4])
return 1
"#,
    )
});

/// KEYS: legacy ready list, delayed, turns. ARGV: job prefix, tenant ready prefix, most tenants
/// looked at. Returns `{age, listed}`: how long (ms, server clock) the longest-waiting runnable
/// job has waited (the next one of a tenant's list, or the earliest due delayed one; -1 when
/// none), and how many ids the ready lists hold (of the first tenants of the ring only).
pub(super) static OLDEST_READY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(on_server_clock!(
        r#"
local oldest = nil
local listed = redis.call('LLEN', KEYS[1])
local function consider(list)
  local id = redis.call('LINDEX', list, -1)
  if id then
    local job = redis.call('HMGET', ARGV[1] .. id, 's', 'ra')
    if job[1] == 'queued' and job[2] then
      local at = tonumber(job[2])
      if oldest == nil or at < oldest then oldest = at end
    end
  end
end
consider(KEYS[1])
local tenants = redis.call('LRANGE', KEYS[3], 0, tonumber(ARGV[3]) - 1)
for i = 1, #tenants do
  local list = ARGV[2] .. tenants[i]
  listed = listed + redis.call('LLEN', list)
  consider(list)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
if #due > 0 then
  local at = tonumber(due[2])
  if oldest == nil or at < oldest then oldest = at end
end
if oldest == nil then return {-1, listed} end
return {math.max(0, now - oldest), listed}
"#
    ))
});

/// KEYS: legacy ready list, delayed, leased, expire, turns, running. ARGV: job prefix, tenant
/// ready prefix, max, lease (ms), worker, cancelled retention (ms), token seed, promote limit,
/// reclaim limit, skip limit, per-tenant cap (0: none). Returns an array of HGETALL replies,
/// one per leased job.
///
/// Jobs are taken one tenant at a time in turn (the ring `turns`), each tenant's oldest first,
/// after what an older version left in the legacy list. A tenant with `cap` jobs running is
/// passed over; the fetch ends when every tenant in the ring was.
///
/// A lapsed lease whose job was asked to cancel ends it `cancelled`: nobody runs it again. One
/// with attempts left puts the job back in `ready`. One on its last attempt is
/// leased to this worker for burial: a new token and lease, the reason in `bu`, `attempts` and
/// `sa` unchanged (so the `job.dead` event's id is that of the attempt that died); the worker
/// records it dead. Past `max` it stays in `leased`, expired, for the next fetch.
pub(super) static FETCH: LazyLock<Script> = LazyLock::new(|| {
    with_turns(on_server_clock!(
        r#"
local ready, delayed, leased, expire, turns = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local running, cap = KEYS[6], tonumber(ARGV[11])
local prefix, rq, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lease_until, worker, seed = now + tonumber(ARGV[4]), ARGV[5], ARGV[7]

local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, tonumber(ARGV[8]))
for i = 1, #due do
  local id = due[i]
  redis.call('ZREM', delayed, id)
  local key = prefix .. id
  local f = redis.call('HMGET', key, 's', 'tn')
  if f[1] == 'scheduled' or f[1] == 'retrying' then
    redis.call('HSET', key, 's', 'queued', 'ua', now)
    ready_push(rq, turns, f[2], id, false)
  end
end

local out, n, skipped, skip_limit = {}, 0, 0, tonumber(ARGV[10])
local lost = redis.call('ZRANGEBYSCORE', leased, '-inf', now, 'LIMIT', 0, tonumber(ARGV[9]))
for i = 1, #lost do
  local id = lost[i]
  local key = prefix .. id
  local f = redis.call('HMGET', key, 's', 'a', 'ma', 'cr', 'tn')
  if f[1] ~= 'running' then
    redis.call('ZREM', leased, id)
  elseif f[4] then
    redis.call('ZREM', leased, id)
    redis.call('HDEL', key, 'lt', 'lu', 'bu')
    redis.call('HSET', key, 's', 'cancelled', 'le', 'cancelled: its worker was lost while stopping',
      'fa', now, 'ua', now)
    redis.call('ZADD', expire, now + tonumber(ARGV[6]), id)
    running_done(running, f[5])
  else
    local a, m = tonumber(f[2]) or 0, tonumber(f[3]) or 0
    local err = 'lease expired: worker lost (attempt ' .. a .. ' of ' .. m .. ')'
    if a < m then
      redis.call('ZREM', leased, id)
      redis.call('HDEL', key, 'lt', 'lu', 'bu')
      redis.call('HSET', key, 's', 'queued', 'le', err, 'ua', now)
      running_done(running, f[5])
      ready_push(rq, turns, f[5], id, true)
    elseif n < max then
      n = n + 1
      redis.call('HSET', key, 'w', worker, 'lt', seed .. '-' .. n, 'lu', lease_until,
        'bu', err, 'ua', now)
      redis.call('ZADD', leased, lease_until, id)
      out[n] = redis.call('HGETALL', key)
    end
  end
end

local capped, passed_over = {}, 0
local legacy = redis.call('LLEN', ready) > 0
while n < max do
  local id = false
  if legacy then
    id = redis.call('RPOP', ready)
    if not id then legacy = false end
  end
  local at_cap = false
  if not id then
    local tenant = redis.call('RPOPLPUSH', turns, turns)
    if not tenant then break end
    if cap > 0 and (tonumber(redis.call('HGET', running, tenant)) or 0) >= cap then
      at_cap = true
      if not capped[tenant] then
        capped[tenant] = true
        passed_over = passed_over + 1
      end
      if passed_over >= redis.call('LLEN', turns) then break end
    else
      local list = rq .. tenant
      id = redis.call('RPOP', list)
      if redis.call('LLEN', list) == 0 then redis.call('LREM', turns, 1, tenant) end
    end
  end
  if not at_cap then
    local key = id and (prefix .. id)
    local f = key and redis.call('HMGET', key, 's', 'tn')
    if f and f[1] == 'queued' then
      n = n + 1
      redis.call('HINCRBY', key, 'a', 1)
      redis.call('HSET', key, 's', 'running', 'sa', now, 'ua', now, 'w', worker,
        'lt', seed .. '-' .. n, 'lu', lease_until)
      redis.call('ZADD', leased, lease_until, id)
      if f[2] then redis.call('HINCRBY', running, f[2], 1) end
      out[n] = redis.call('HGETALL', key)
    else
      skipped = skipped + 1
      if skipped >= skip_limit then break end
    end
  end
end
return out
"#
    ))
});

/// KEYS: leased. ARGV: job prefix, lease (ms), then id/token pairs (bounded by the caller).
/// Returns one 1 (renewed), 2 (renewed, but a cancel was requested) or 0 (stale) per pair.
pub(super) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(on_server_clock!(
        r#"
local out, lease_until = {}, now + tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local key = ARGV[1] .. id
  local f = redis.call('HMGET', key, 's', 'lt', 'cr')
  if f[1] == 'running' and f[2] == ARGV[i + 1] then
    redis.call('HSET', key, 'lu', lease_until)
    redis.call('ZADD', KEYS[1], lease_until, id)
    if f[3] then out[#out + 1] = 2 else out[#out + 1] = 1 end
  else
    out[#out + 1] = 0
  end
end
return out
"#
    ))
});

/// KEYS: job, turns, delayed, leased, expire, running. ARGV: id, token, cancelled retention (ms),
/// outcome (`succeeded`|`retry`|`dead`|`released`|`deferred`|`cancelled`), error, duration in
/// ms (the retry or deferral delay, or the retention of succeeded and dead jobs), tenant ready
/// prefix. Returns 1 if
/// applied, 2 if the job ended `cancelled` instead (a cancel was requested while it ran and the
/// outcome would have run it again), 0 if the lease is stale (nothing changed).
pub(super) static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    with_turns(on_server_clock!(
        r#"
local job = KEYS[1]
local f = redis.call('HMGET', job, 's', 'lt', 'a', 'cr', 'tn')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return 0 end
running_done(KEYS[6], f[5])
local id, kind, at = ARGV[1], ARGV[4], now + tonumber(ARGV[6])
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', job, 'lt', 'lu', 'bu')
local answer = 1
if f[4] and (kind == 'retry' or kind == 'released' or kind == 'deferred') then
  answer = 2
  if kind ~= 'retry' then
    local a = tonumber(f[3]) or 0
    if a > 0 then redis.call('HSET', job, 'a', a - 1) end
  end
  kind = 'cancelled'
  at = now + tonumber(ARGV[3])
end
if kind == 'succeeded' then
  redis.call('HSET', job, 's', 'succeeded', 'fa', now, 'ua', now)
  redis.call('ZADD', KEYS[5], at, id)
elseif kind == 'retry' then
  redis.call('HSET', job, 's', 'retrying', 'le', ARGV[5], 'ra', at, 'ua', now)
  redis.call('ZADD', KEYS[3], at, id)
elseif kind == 'dead' then
  redis.call('HSET', job, 's', 'dead', 'le', ARGV[5], 'fa', now, 'ua', now)
  redis.call('ZADD', KEYS[5], at, id)
elseif kind == 'cancelled' then
  if ARGV[5] ~= '' then redis.call('HSET', job, 'le', ARGV[5]) end
  redis.call('HSET', job, 's', 'cancelled', 'fa', now, 'ua', now)
  redis.call('ZADD', KEYS[5], at, id)
elseif kind == 'deferred' then
  local a = tonumber(f[3]) or 0
  if a > 0 then a = a - 1 end
  redis.call('HSET', job, 's', 'scheduled', 'a', a, 'ra', at, 'ua', now)
  redis.call('ZADD', KEYS[3], at, id)
else
  local a = tonumber(f[3]) or 0
  if a > 0 then a = a - 1 end
  redis.call('HSET', job, 's', 'queued', 'a', a, 'ua', now)
  ready_push(ARGV[7], KEYS[2], f[5], id, true)
end
return answer
"#
    ))
});

/// KEYS: job, turns, expire. ARGV: id, tenant, tenant ready prefix.
/// Returns 0 (no such job for this tenant), the state name (not dead), or the new HGETALL.
pub(super) static RETRY_DEAD: LazyLock<Script> = LazyLock::new(|| {
    with_turns(on_server_clock!(
        r#"
local f = redis.call('HMGET', KEYS[1], 's', 'tn')
if not f[1] or f[2] ~= ARGV[2] then return 0 end
if f[1] ~= 'dead' then return f[1] end
local used = redis.call('HMGET', KEYS[1], 'a', 'ma')
local budget = tonumber(used[1] or '0') + tonumber(used[2] or '1')
redis.call('HSET', KEYS[1], 's', 'queued', 'ma', budget, 'ra', now, 'ua', now)
redis.call('HDEL', KEYS[1], 'fa', 'cr')
redis.call('ZREM', KEYS[3], ARGV[1])
ready_push(ARGV[3], KEYS[2], ARGV[2], ARGV[1], false)
return redis.call('HGETALL', KEYS[1])
"#
    ))
});

/// KEYS: job, delayed, expire. ARGV: id, tenant, retention (ms).
/// Returns 0 (no such job for this tenant), the state name (not cancellable), or the new
/// HGETALL. The id stays in the ready list; fetch skips it. A `running` job stays running with
/// the time of the first request in `cr`: its worker stops it (see `RENEW`, `COMPLETE`).
pub(super) static CANCEL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(on_server_clock!(
        r#"
local f = redis.call('HMGET', KEYS[1], 's', 'tn')
if not f[1] or f[2] ~= ARGV[2] then return 0 end
local s = f[1]
if s == 'running' then
  if redis.call('HSETNX', KEYS[1], 'cr', now) == 1 then
    redis.call('HSET', KEYS[1], 'ua', now)
  end
  return redis.call('HGETALL', KEYS[1])
end
if s ~= 'queued' and s ~= 'scheduled' and s ~= 'retrying' then return s end
redis.call('HSET', KEYS[1], 's', 'cancelled', 'fa', now, 'ua', now)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
return redis.call('HGETALL', KEYS[1])
"#
    ))
});

/// KEYS: expire. ARGV: job prefix, index prefix, (unused), max. Deletes up to `max` finished jobs
/// whose retention ended, with their index entries. Returns how many were deleted.
pub(super) static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(on_server_clock!(
        r#"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local n = 0
for i = 1, #ids do
  local id = ids[i]
  local key = ARGV[1] .. id
  redis.call('ZREM', KEYS[1], id)
  local f = redis.call('HMGET', key, 's', 'tn', 'ca')
  if f[1] == 'succeeded' or f[1] == 'dead' or f[1] == 'cancelled' then
    if f[2] and f[3] then
      local member = string.rep('0', 13 - #f[3]) .. f[3] .. ':' .. id
      redis.call('ZREM', ARGV[2] .. f[2], member)
    end
    redis.call('DEL', key)
    n = n + 1
  end
end
return n
"#
    ))
});

/// KEYS: a tenant's index. ARGV: job prefix, start (`+` or `(member`), scan budget, wanted
/// matches, state filter (`` = any), type filter (`` = any), tenant.
/// Scans the index newest first, at most `budget` members, stopping after `wanted` matches.
/// Returns `{exhausted (1/0), last scanned member, member1, hash1, member2, hash2, ...}`.
pub(super) static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local prefix, start = ARGV[1], ARGV[2]
local budget, want = tonumber(ARGV[3]), tonumber(ARGV[4])
local st, ty, tn = ARGV[5], ARGV[6], ARGV[7]
local out, found, scanned = {0, ''}, 0, 0
while scanned < budget and found < want do
  local batch = math.min(100, budget - scanned)
  local members = redis.call('ZREVRANGEBYLEX', KEYS[1], start, '-', 'LIMIT', 0, batch)
  for i = 1, #members do
    local m = members[i]
    scanned = scanned + 1
    out[2] = m
    local sep = string.find(m, ':', 1, true)
    if sep then
      local key = prefix .. string.sub(m, sep + 1)
      local f = redis.call('HMGET', key, 's', 'ty', 'tn')
      if f[1] and f[3] == tn and (st == '' or f[1] == st) and (ty == '' or f[2] == ty) then
        found = found + 1
        out[#out + 1] = m
        out[#out + 1] = redis.call('HGETALL', key)
        if found >= want then break end
      end
    end
  end
  if found >= want then break end
  if #members < batch then
    out[1] = 1
    break
  end
  start = '(' .. out[2]
end
return out
"#,
    )
});
