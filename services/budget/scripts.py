"""The Lua scripts that make reservation and settlement atomic in Redis.

Counters are hashes with four integer fields: `nusd` and `tok` (settled plus reserved; what
limits are checked against) and `snusd` and `stok` (settled only; what alerts and the
ledger compare with). Numbers are passed as strings, and differences computed in Lua are
formatted with `%.0f` (never `-0`) before `HINCRBY`, so amounts up to 2^53 nano-USD stay
exact.
"""

from __future__ import annotations

# KEYS: counter_1..counter_n, reservation, leases
# ARGV: n, nusd, tok, (limit_nusd, limit_tok, ttl) x n,
#       request_id, lease_deadline_ms, reservation_ttl, meta
# Returns {1} reserved, {0, i, field, current} refused by counter i, {-1} duplicate id.
RESERVE = """
local n = tonumber(ARGV[1])
local nusd = tonumber(ARGV[2])
local tok = tonumber(ARGV[3])
local res = KEYS[n + 1]
if redis.call('EXISTS', res) == 1 then return {-1} end
for i = 1, n do
  local b = 3 + (i - 1) * 3
  local lim_nusd = tonumber(ARGV[b + 1])
  local lim_tok = tonumber(ARGV[b + 2])
  local cur = redis.call('HMGET', KEYS[i], 'nusd', 'tok')
  local cur_nusd = tonumber(cur[1] or '0')
  local cur_tok = tonumber(cur[2] or '0')
  if lim_nusd > 0 and cur_nusd + nusd > lim_nusd then return {0, i, 'nusd', cur_nusd} end
  if lim_tok > 0 and cur_tok + tok > lim_tok then return {0, i, 'tok', cur_tok} end
end
for i = 1, n do
  redis.call('HINCRBY', KEYS[i], 'nusd', ARGV[2])
  redis.call('HINCRBY', KEYS[i], 'tok', ARGV[3])
  redis.call('EXPIRE', KEYS[i], ARGV[3 + i * 3])
end
local p = 3 + n * 3
redis.call('HSET', res, 'nusd', ARGV[2], 'tok', ARGV[3],
  'keys', table.concat(KEYS, ' ', 1, n), 'meta', ARGV[p + 4])
redis.call('EXPIRE', res, ARGV[p + 3])
redis.call('ZADD', KEYS[n + 2], ARGV[p + 2], ARGV[p + 1])
return {1}
"""

# KEYS: reservation, leases, reaped (tombstone)
# ARGV: request_id, mode ('final' | 'reap'), actual_nusd, actual_tok, tombstone_ttl
# A final settle of a live reservation replaces the reserved amount with the actual one.
# The reaper ('reap') does the same with the input estimate and leaves a tombstone, so a
# caller that settles late still corrects the charge to its actual cost, exactly once.
# The counters touched are read from the reservation: a call that spans midnight is
# settled in the window it reserved. (They share its hash tag, hence its Cluster slot.)
# Returns {0} when there is nothing to settle, else
# {1 | 2 (late, after the reaper), meta, key, snusd_before, snusd_after, stok_before,
#  stok_after, ...} for each counter that still exists.
SETTLE = """
local function int(x) if x == 0 then return '0' end return string.format('%.0f', x) end
local res, leases, tomb = KEYS[1], KEYS[2], KEYS[3]
local mode = ARGV[2]
local source = nil
if redis.call('EXISTS', res) == 1 then
  source = res
elseif mode == 'final' and redis.call('EXISTS', tomb) == 1 then
  source = tomb
end
if not source then
  redis.call('ZREM', leases, ARGV[1])
  return {0}
end
local h = redis.call('HMGET', source, 'nusd', 'tok', 'keys', 'meta')
local actual_nusd = tonumber(ARGV[3])
local actual_tok = tonumber(ARGV[4])
local d_nusd = int(actual_nusd - tonumber(h[1]))
local d_tok = int(actual_tok - tonumber(h[2]))
local s_nusd, s_tok = ARGV[3], ARGV[4]
if source == tomb then s_nusd, s_tok = d_nusd, d_tok end
local out = {source == res and 1 or 2, h[4]}
for key in string.gmatch(h[3], '%S+') do
  if redis.call('EXISTS', key) == 1 then
    local before = redis.call('HMGET', key, 'snusd', 'stok')
    redis.call('HINCRBY', key, 'nusd', d_nusd)
    redis.call('HINCRBY', key, 'tok', d_tok)
    local after_nusd = redis.call('HINCRBY', key, 'snusd', s_nusd)
    local after_tok = redis.call('HINCRBY', key, 'stok', s_tok)
    table.insert(out, key)
    table.insert(out, tonumber(before[1] or '0'))
    table.insert(out, after_nusd)
    table.insert(out, tonumber(before[2] or '0'))
    table.insert(out, after_tok)
  end
end
redis.call('ZREM', leases, ARGV[1])
if mode == 'reap' then
  redis.call('RENAME', res, tomb)
  redis.call('HSET', tomb, 'nusd', ARGV[3], 'tok', ARGV[4])
  redis.call('EXPIRE', tomb, ARGV[5])
else
  redis.call('DEL', source)
end
return out
"""

# KEYS: counter; ARGV: settled_nusd, settled_tok, ttl
# Raises the settled totals (and the checked totals with them) to at least the given
# values; never lowers anything. Returns 1 when something was raised.
RAISE_TO = """
local function int(x) if x == 0 then return '0' end return string.format('%.0f', x) end
local cur = redis.call('HMGET', KEYS[1], 'snusd', 'stok')
local d_nusd = tonumber(ARGV[1]) - tonumber(cur[1] or '0')
local d_tok = tonumber(ARGV[2]) - tonumber(cur[2] or '0')
local raised = 0
if d_nusd > 0 then
  local d = int(d_nusd)
  redis.call('HINCRBY', KEYS[1], 'snusd', d)
  redis.call('HINCRBY', KEYS[1], 'nusd', d)
  raised = 1
end
if d_tok > 0 then
  local d = int(d_tok)
  redis.call('HINCRBY', KEYS[1], 'stok', d)
  redis.call('HINCRBY', KEYS[1], 'tok', d)
  raised = 1
end
if raised == 1 and redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return raised
"""
