//! The throttle's Lua scripts: `schedule.rs` step for step, on the Redis server's clock.
//!
//! Same rules as the queue's scripts (`queue/redis/scripts.rs`): one key tag per call (one
//! cluster slot), no unbounded loops, `now` from `TIME` and only durations from the client.
//! Fractional milliseconds are stored with `%.4f`: Lua's default number formatting keeps 14
//! significant digits, which at epoch-millisecond magnitudes would round every slot to 0.1 ms
//! and let the schedule drift.
//!
//! Keys: `state` (hash: `tat` virtual ms, `nb` real ms, `pz` paused ms), `running` (sorted set:
//! job → hold expiry), `slot` (the job's reservation: `"<slot> <valid_until>"`, virtual ms).

use std::sync::LazyLock;

use redis::Script;

use crate::queue::redis::on_server_clock;

/// KEYS: state, running, slot. ARGV: job, interval (ms), burst, max concurrent (0: none), hold
/// (ms), grace (ms), reservation slack (ms).
/// Returns `{code, wait ms, now}`: code 1 go, 0 wait, 2 concurrency full.
pub(super) static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(on_server_clock!(
        r#"
local state, running, slotkey, job = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local interval, burst, max_c = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local hold, grace, slack = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local function fmt(x) return string.format('%.4f', x) end

local function take_hold()
  redis.call('ZADD', running, now + hold, job)
  if redis.call('PTTL', running) < hold then redis.call('PEXPIRE', running, hold) end
  return {1, 0, now}
end

redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
if redis.call('ZSCORE', running, job) then return take_hold() end

local f = redis.call('HMGET', state, 'tat', 'nb', 'pz')
local tat, nb, pz = tonumber(f[1]), tonumber(f[2]) or 0, tonumber(f[3]) or 0
local v = now - pz

-- The state must outlive every valid reservation (they are in virtual time) and the hold-off.
local function keep()
  local last = math.max(now, nb)
  if tat then last = math.max(last, tat + pz) end
  redis.call('PEXPIRE', state, math.ceil(last - now + grace) + 1000)
end
local function reserve(slot, valid)
  redis.call('SET', slotkey, fmt(slot) .. ' ' .. fmt(valid), 'PX', math.ceil(valid - v + slack))
end

local slot, valid
local r = redis.call('GET', slotkey)
if r then
  local a, b = string.match(r, '^(%S+) (%S+)$')
  slot, valid = tonumber(a), tonumber(b)
  if not slot or not valid or v > valid then
    redis.call('DEL', slotkey)
    slot = nil
  end
end

if now < nb then
  local at = nb
  if slot then at = math.max(at, slot + pz) end
  return {0, math.ceil(at - now), now}
end
if slot and slot > v then return {0, math.ceil(slot - v), now} end

if max_c > 0 and redis.call('ZCARD', running) >= max_c then
  if slot then
    reserve(slot, math.max(valid, v + grace))
    keep()
  end
  return {2, 0, now}
end
if slot then
  redis.call('DEL', slotkey)
  return take_hold()
end

local t = tat or v
local s = math.max(v, t - (burst - 1) * interval)
tat = math.max(t, v) + interval
redis.call('HSET', state, 'tat', fmt(tat))
keep()
if s <= v then return take_hold() end
reserve(s, s + grace)
return {0, math.ceil(s - v), now}
"#
    ))
});

/// KEYS: state. ARGV: delay (ms), grace (ms). Returns 1 if the hold-off grew, else 0.
pub(super) static HOLD_OFF: LazyLock<Script> = LazyLock::new(|| {
    Script::new(on_server_clock!(
        r#"
local f = redis.call('HMGET', KEYS[1], 'tat', 'nb', 'pz')
local tat, nb, pz = tonumber(f[1]), tonumber(f[2]) or 0, tonumber(f[3]) or 0
local untl = now + tonumber(ARGV[1])
if untl <= nb then return 0 end
pz = pz + untl - math.max(nb, now)
nb = untl
redis.call('HSET', KEYS[1], 'nb', string.format('%.4f', nb), 'pz', string.format('%.4f', pz))
local last = nb
if tat then last = math.max(last, tat + pz) end
redis.call('PEXPIRE', KEYS[1], math.ceil(last - now + tonumber(ARGV[2])) + 1000)
return 1
"#
    ))
});
