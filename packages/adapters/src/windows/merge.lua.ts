/**
 * The window merge as one Lua script, so that delta conversion and the bucket increments of one
 * proxy's report for one cluster are atomic (BullMQ style: KEYS/ARGV documented here, all keys
 * in the cluster's hash tag so the script runs on one Redis Cluster node).
 *
 * KEYS[1] cumulative state hash of (cluster, proxy)    field series -> "start,time,v1,v2,..."
 * KEYS[2] gauges hash of (cluster, proxy)              field `<ep>|<gauge>` -> "<time ms>|<value>"
 * KEYS[3] proxies sorted set of the cluster            proxy -> last report (Unix ms)
 * KEYS[4..] 1-second bucket hashes, one per distinct second of the batch
 * ARGV[1] proxy instance id
 * ARGV[2] report time (Unix ms)
 * ARGV[3] EXPIREAT of each bucket key, in the same order as KEYS[4..] (comma-separated Unix s)
 * ARGV[4] TTL of the cumulative state (s)
 * ARGV[5] TTL of the gauges hash and proxies set (s)
 * ARGV[6] first-sight limit (µs): a series seen for the first time counts its whole value only
 *         when it started at or after this time; an older one only sets the baseline
 * ARGV[7] JSON array of entries:
 *   ["g", field, timeMs, value]
 *   [type, series, startUs, timeUs, bucketIndex, field, proxyField, temporality, [values...]]
 *     type "c" (counter, values = [value]) or "h" (histogram, values = [count, sum, b0..bn]);
 *     bucketIndex is 1-based into KEYS[4..], 0 = update the state but write no bucket;
 *     proxyField ("" for none) also gets the positive counter delta;
 *     temporality "c" (cumulative: delta against the state) or "d" (already a delta).
 *
 * Delta rules for a cumulative series, previous state (start0, time0, v0):
 *   none                          -> whole value if start >= ARGV[6], else 0; state := point
 *   start == start0, time > time0 -> v - v0, or v when any component decreased (a reset); state := point
 *   start > start0                -> v (the series restarted); state := point
 *   start < start0 or time <= time0 (same start) -> 0 (duplicate or out of order); state unchanged
 * Returns {counted, skipped}: points that contributed (or set a baseline) and points ignored.
 */
export const MERGE_LUA = `
local cum, gauges, proxies = KEYS[1], KEYS[2], KEYS[3]
local proxy = ARGV[1]
local now = tonumber(ARGV[2])
local stateTtl = tonumber(ARGV[4])
local liveTtl = tonumber(ARGV[5])
local firstSight = tonumber(ARGV[6])
local entries = cjson.decode(ARGV[7])
local counted, skipped = 0, 0
local used = {}

local function fmt(x)
  if x == math.floor(x) and math.abs(x) < 1e15 then return string.format('%d', x) end
  return string.format('%.17g', x)
end

local function parse(s)
  local t = {}
  for x in string.gmatch(s, '[^,]+') do t[#t + 1] = tonumber(x) end
  return t
end

local function encode(start, time, v)
  local parts = { fmt(start), fmt(time) }
  for i = 1, #v do parts[#parts + 1] = fmt(v[i]) end
  return table.concat(parts, ',')
end

-- The delta of a cumulative point (nil = count nothing) and whether the state moves on.
local function delta(series, start, time, v)
  local raw = redis.call('HGET', cum, series)
  if not raw then
    if start >= firstSight then return v, true end
    return nil, true
  end
  local p = parse(raw)
  local start0, time0 = p[1], p[2]
  if start > start0 then return v, true end
  if start < start0 or time <= time0 then return nil, false end
  if #p - 2 ~= #v then return v, true end
  local d = {}
  for i = 1, #v do
    local x = v[i] - p[i + 2]
    -- A histogram's sum may legitimately fall (negative observations); counts and counters may not.
    if x < 0 and not (#v > 1 and i == 2) then return v, true end
    d[i] = x
  end
  return d, true
end

for _, e in ipairs(entries) do
  if e[1] == 'g' then
    local prev = redis.call('HGET', gauges, e[2])
    local t0 = prev and tonumber(string.match(prev, '^[^|]+')) or -1
    if e[3] > t0 then redis.call('HSET', gauges, e[2], fmt(e[3]) .. '|' .. fmt(e[4])) end
    counted = counted + 1
  else
    local kind, series, start, time, bi, field, pfield, temporality, v =
      e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9]
    local d, advance
    if temporality == 'd' then d, advance = v, false else d, advance = delta(series, start, time, v) end
    if advance then redis.call('HSET', cum, series, encode(start, time, v)) end
    if d == nil then
      skipped = skipped + 1
    else
      counted = counted + 1
      if bi > 0 then
        local bucket = KEYS[3 + bi]
        used[bi] = true
        if kind == 'c' then
          if d[1] ~= 0 then
            redis.call('HINCRBYFLOAT', bucket, field, fmt(d[1]))
            if pfield ~= '' and d[1] > 0 then redis.call('HINCRBYFLOAT', bucket, pfield, fmt(d[1])) end
          end
        elseif d[1] ~= 0 then
          redis.call('HINCRBY', bucket, field .. '|n', fmt(d[1]))
          redis.call('HINCRBYFLOAT', bucket, field .. '|sum', fmt(d[2]))
          for i = 3, #d do
            if d[i] ~= 0 then redis.call('HINCRBY', bucket, field .. '|b' .. (i - 3), fmt(d[i])) end
          end
        end
      end
    end
  end
end

local expireAt = parse(ARGV[3])
for i = 1, #expireAt do
  if used[i] then redis.call('EXPIREAT', KEYS[3 + i], expireAt[i]) end
end
redis.call('EXPIRE', cum, stateTtl)
if redis.call('EXISTS', gauges) == 1 then redis.call('EXPIRE', gauges, liveTtl) end
redis.call('ZADD', proxies, now, proxy)
redis.call('ZREMRANGEBYSCORE', proxies, '-inf', now - liveTtl * 1000)
redis.call('EXPIRE', proxies, liveTtl)
return { counted, skipped }
`;
