"""The Lua scripts that make reservation and counting atomic in Redis.

Counters are hashes with four integer fields: `nusd` and `tok` (counted plus reserved; what
limits are checked against) and `snusd` and `stok` (counted only; what alerts and the
ledger compare with). Numbers are passed as strings, and differences computed in Lua are
formatted with `%.0f` (never `-0`) before `HINCRBY`, so amounts up to 2^53 nano-USD stay
exact.

Every call has a record (`res:<request id>`, a hash) saying what the counters hold for it:
`st` is `open` (reserved: `nusd`/`tok` are in the counters' checked fields only), `prov`
(counted provisionally, as the input estimate of a call presumed dead or as its `expired`
ledger row) or `final` (counted as its ledger row says). A missing record means the
counters hold nothing for the call. `COUNT` moves a call up that order, never down, and
changes the call's counters by exactly the difference, in one step: so every counter always
equals the sum over the records of its calls, whatever order the scripts run in and however
often.
"""

from __future__ import annotations

# KEYS: counter_1..counter_n, record, leases, rate_requests, rate_tokens_now, rate_tokens_before,
#       user_limits, org_limits
# ARGV: n, nusd, tok, (limit_nusd, limit_tok, ttl) x n,
#       request_id, lease_deadline_ms, record_ttl, meta,
#       now_ms, window_ms, request_limit, token_limit, token_cost, user_limits_text,
#       org_limits_text, rates_counted ('1': this call's request and tokens were already
#       counted by an earlier attempt of the same call, e.g. one retried with a shorter output)
# The limits passed are those of the cached budget texts given (`BudgetStore.last_seen`):
# unless the cache still holds exactly those texts, nothing is done and {-2} returned (the
# caller reads them again). Empty texts skip that check (limits read just now). Then the
# per-minute limits (services/budget/rates.py): one request, then `token_cost` input
# tokens, each checked and counted; then the budgets.
# Returns {1} reserved, {0, i, field, current} refused by counter i, {-1} duplicate id,
# {-2} the cached limits changed, {-3, 'requests' | 'tokens', retry_after_ms} refused by a
# per-minute limit.
RESERVE = """
local n = tonumber(ARGV[1])
local nusd = tonumber(ARGV[2])
local tok = tonumber(ARGV[3])
local res = KEYS[n + 1]
local p = 3 + n * 3
if ARGV[p + 10] ~= '' then
  if redis.call('GET', KEYS[n + 6]) ~= ARGV[p + 10] then return {-2} end
  if redis.call('GET', KEYS[n + 7]) ~= ARGV[p + 11] then return {-2} end
end
local now, span = tonumber(ARGV[p + 5]), tonumber(ARGV[p + 6])
if ARGV[p + 12] ~= '1' then
  local req_limit, tok_limit = tonumber(ARGV[p + 7]), tonumber(ARGV[p + 8])
  local reqs, tok_now, tok_before = KEYS[n + 3], KEYS[n + 4], KEYS[n + 5]
  local oldest = redis.call('LINDEX', reqs, req_limit - 1)
  if oldest and tonumber(oldest) > now - span then
    return {-3, 'requests', tonumber(oldest) + span - now}
  end
  redis.call('LPUSH', reqs, ARGV[p + 5])
  redis.call('LTRIM', reqs, 0, req_limit - 1)
  redis.call('PEXPIRE', reqs, span)
  local elapsed = now % span
  local before = tonumber(redis.call('GET', tok_before) or '0')
  local counted = math.floor(before * (span - elapsed) / span)
  counted = counted + tonumber(redis.call('GET', tok_now) or '0')
  local cost = tonumber(ARGV[p + 9])
  if counted + cost > tok_limit then
    -- The hint is when this call fits (nothing else spent meanwhile), not when the minute
    -- turns: while this minute lasts the last minute's count fades; after it, this minute's
    -- count becomes the last one and fades in turn. -1: it never fits.
    if cost > tok_limit then return {-3, 'tokens', -1} end
    local room = tok_limit - cost
    local cur = tonumber(redis.call('GET', tok_now) or '0')
    local to_turn = span - elapsed
    if cur <= room and before > 0 then
      local wait = to_turn - (room - cur + 1) * span / before
      if wait < to_turn then return {-3, 'tokens', math.max(math.floor(wait) + 1, 1)} end
    end
    local after = math.max(span - (room + 1) * span / cur, 0)
    return {-3, 'tokens', to_turn + math.floor(after) + 1}
  end
  redis.call('INCRBY', tok_now, cost)
  redis.call('PEXPIRE', tok_now, 2 * span)
end
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
redis.call('HSET', res, 'st', 'open', 'nusd', ARGV[2], 'tok', ARGV[3], 'meta', ARGV[p + 4])
redis.call('EXPIRE', res, ARGV[p + 3])
redis.call('ZADD', KEYS[n + 2], ARGV[p + 2], ARGV[p + 1])
return {1}
"""

# KEYS: record, leases, provisional, rate_tokens_now, counter_1..counter_n
# ARGV: request_id, state ('prov' | 'final'), nusd, tok, record_ttl, now_ms,
#       output_tokens, window_ms, token_limit, ttl_1..ttl_n
# Counts the call as `nusd`/`tok` in `state`, unless its record already holds that state
# or a later one: missing or `open` -> `prov` or `final`, `prov` -> `final`. A missing
# record (the reservation was lost with Redis's data) is counted in full. The counters
# are the call's own, in the windows it was reserved in (they share its hash tag). A final
# count adds `output_tokens` (at most the limit) to the per-minute token counter
# `rate_tokens_now` (never refused: the call already happened); 0 leaves it alone.
# Returns {0} when nothing changed, else
# {1 (was open) | 2 (was prov) | 3 (was missing), key, snusd_before, snusd_after,
#  stok_before, stok_after, ...} for each counter.
COUNT = """
local function int(x) if x == 0 then return '0' end return string.format('%.0f', x) end
local res, leases, prov = KEYS[1], KEYS[2], KEYS[3]
local state = ARGV[2]
local h = redis.call('HMGET', res, 'st', 'nusd', 'tok')
local st = h[1]
if not st and h[2] then st = 'open' end  -- a reservation written before records had `st`
local held_nusd, held_tok, held_snusd, held_stok = 0, 0, 0, 0
local code = 3
if st == 'open' then
  held_nusd, held_tok, code = tonumber(h[2]), tonumber(h[3]), 1
elseif st == 'prov' and state == 'final' then
  held_nusd, held_tok, code = tonumber(h[2]), tonumber(h[3]), 2
  held_snusd, held_stok = held_nusd, held_tok
elseif st then
  redis.call('ZREM', leases, ARGV[1])
  return {0}
end
local nusd, tok = tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {code}
for i = 5, #KEYS do
  local key = KEYS[i]
  local before = redis.call('HMGET', key, 'snusd', 'stok')
  redis.call('HINCRBY', key, 'nusd', int(nusd - held_nusd))
  redis.call('HINCRBY', key, 'tok', int(tok - held_tok))
  local after_nusd = redis.call('HINCRBY', key, 'snusd', int(nusd - held_snusd))
  local after_tok = redis.call('HINCRBY', key, 'stok', int(tok - held_stok))
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[5 + i]) end
  table.insert(out, key)
  table.insert(out, tonumber(before[1] or '0'))
  table.insert(out, after_nusd)
  table.insert(out, tonumber(before[2] or '0'))
  table.insert(out, after_tok)
end
redis.call('HSET', res, 'st', state, 'nusd', ARGV[3], 'tok', ARGV[4])
redis.call('HDEL', res, 'meta', 'keys')
redis.call('EXPIRE', res, ARGV[5])
redis.call('ZREM', leases, ARGV[1])
if state == 'prov' then
  redis.call('ZADD', prov, ARGV[6], ARGV[1])
else
  redis.call('ZREM', prov, ARGV[1])
  local output = tonumber(ARGV[7])
  if output > 0 then
    redis.call('INCRBY', KEYS[4], int(math.min(output, tonumber(ARGV[9]))))
    redis.call('PEXPIRE', KEYS[4], 2 * tonumber(ARGV[8]))
  end
end
return out
"""
