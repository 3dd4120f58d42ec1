/**
 * The window merge as one Lua script, so that delta conversion and the bucket increments of one
 * proxy's report for one cluster are atomic (BullMQ style: KEYS/ARGV documented here, all keys
 * in the cluster's hash tag so the script runs on one Redis Cluster node).
 *
 * KEYS[1] cumulative state hash of (cluster, proxy)    field series -> MessagePack [start, time, v1, v2, ...]
 * KEYS[2] gauges of (cluster, proxy), a string          "<time ms>|<JSON {"<ep>|<gauge>": value}>"
 * KEYS[3] proxies sorted set of the cluster            proxy -> last report (Unix ms)
 * KEYS[4..3+n] 1-second bucket hashes, one per distinct second of the batch (n of them)
 * KEYS[4+n..3+2n] the per-proxy bucket hashes of the same seconds, same order: field proxy ->
 *         JSON {"<endpoint>": {"fail": n, "ok": n}} (one field per proxy and second, not one per
 *         endpoint and proxy: the reader parses 200 small JSON values instead of 20k fields)
 * ARGV[1] proxy instance id
 * ARGV[2] report time (Unix ms)
 * ARGV[3] EXPIREAT of each second's keys, in the same order (comma-separated Unix s; gives n)
 * ARGV[4] TTL of the cumulative state (s)
 * ARGV[5] TTL of the gauges hash and proxies set (s)
 * ARGV[6] first-sight limit (µs): a series seen for the first time counts its whole value only
 *         when it started at or after this time; an older one only sets the baseline
 * ARGV[7] JSON array of counter and histogram entries:
 *   [type, series, startUs, timeUs, bucketIndex, field, proxyField, temporality, [values...]]
 *     type "c" (counter, values = [value]) or "h" (histogram, values = [count, sum, b0..bn]);
 *     bucketIndex is 1-based into the seconds, 0 = update the state but write no bucket;
 *     proxyField ("" for none) = "<endpoint>|fail" or "<endpoint>|ok": the positive counter delta
 *     is added to this proxy's entry of the second's per-proxy bucket;
 *     temporality "c" (cumulative: delta against the state) or "d" (already a delta).
 * ARGV[8] time (ms) of the batch's gauges, ARGV[9] their JSON ("" for none): they replace the
 *         stored snapshot only when newer (one export is one snapshot of every gauge of the
 *         proxy; a late duplicate must not roll them back)
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
local expireAt = {}
for x in string.gmatch(ARGV[3], '[^,]+') do expireAt[#expireAt + 1] = tonumber(x) end
local seconds = #expireAt
-- key index -> field -> increment (1..n: buckets, n+1..2n: per-proxy buckets)
local incr = {}
local function add(inc, field, x) inc[field] = (inc[field] or 0) + x end

-- Redis Lua passes at most ~8000 values to one call: long argument lists go in chunks.
local function chunked(cmd, key, list)
  local n = #list
  for i = 1, n, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, n)))
  end
end

local function fmt(x)
  if x == math.floor(x) and math.abs(x) < 1e15 then return string.format('%d', x) end
  return string.format('%.17g', x)
end

-- Every state and gauge the batch touches, each read once (HMGET), written once (HSET) at the end.
local seriesNames = {}
for _, e in ipairs(entries) do
  if e[8] ~= 'd' then seriesNames[#seriesNames + 1] = e[2] end
end
local state = {}
for i = 1, #seriesNames, 1000 do
  local got = redis.call('HMGET', cum, unpack(seriesNames, i, math.min(i + 999, #seriesNames)))
  for j = 1, #got do
    if got[j] then state[seriesNames[i + j - 1]] = cmsgpack.unpack(got[j]) end
  end
end
local stateOut = {}

-- The delta of a cumulative point (nil = count nothing) and whether the state moves on.
local function delta(p, start, time, v)
  if not p then
    if start >= firstSight then return v, true end
    return nil, true
  end
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
  do
    local kind, series, start, time, bi, field, pfield, temporality, v =
      e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9]
    local d, advance
    if temporality == 'd' then d, advance = v, false else d, advance = delta(state[series], start, time, v) end
    if advance then
      local p = { start, time }
      for i = 1, #v do p[i + 2] = v[i] end
      state[series] = p
      stateOut[#stateOut + 1] = series
      stateOut[#stateOut + 1] = cmsgpack.pack(p)
    end
    if d == nil then
      skipped = skipped + 1
    else
      counted = counted + 1
      if bi > 0 then
        local inc = incr[bi]
        if not inc then
          inc = {}
          incr[bi] = inc
        end
        if kind == 'c' then
          if d[1] ~= 0 then
            add(inc, field, d[1])
            if pfield ~= '' and d[1] > 0 then
              local pinc = incr[seconds + bi]
              if not pinc then
                pinc = {}
                incr[seconds + bi] = pinc
              end
              add(pinc, pfield, d[1])
            end
          end
        elseif d[1] ~= 0 then
          add(inc, field .. '|n', d[1])
          add(inc, field .. '|sum', d[2])
          for i = 3, #d do
            if d[i] ~= 0 then add(inc, field .. '|b' .. (i - 3), d[i]) end
          end
        end
      end
    end
  end
end

-- Bucket increments: one HMGET and one HSET per bucket instead of a HINCRBY per field (the
-- script is atomic, so read-add-write here is what HINCRBYFLOAT would do, with far fewer calls).
for bi, inc in pairs(incr) do
  local bucket = KEYS[3 + bi]
  if bi > seconds then
    local cur = redis.call('HGET', bucket, proxy)
    local t = cur and cjson.decode(cur) or {}
    for f, x in pairs(inc) do
      local ep, k = string.match(f, '^(.*)|(%a+)$')
      local e = t[ep]
      if not e then
        e = {}
        t[ep] = e
      end
      e[k] = (e[k] or 0) + x
    end
    redis.call('HSET', bucket, proxy, cjson.encode(t))
  else
    local fields = {}
    for f in pairs(inc) do fields[#fields + 1] = f end
    local out = {}
    for i = 1, #fields, 1000 do
      local got = redis.call('HMGET', bucket, unpack(fields, i, math.min(i + 999, #fields)))
      for j = 1, #got do
        local f = fields[i + j - 1]
        out[#out + 1] = f
        out[#out + 1] = fmt((tonumber(got[j]) or 0) + inc[f])
      end
    end
    if #out > 0 then chunked('HSET', bucket, out) end
  end
  redis.call('EXPIREAT', bucket, expireAt[(bi - 1) % seconds + 1])
end
if #stateOut > 0 then chunked('HSET', cum, stateOut) end
if ARGV[9] ~= '' then
  local t = tonumber(ARGV[8])
  local prev = redis.call('GET', gauges)
  if not prev or t > tonumber(string.match(prev, '^[^|]+')) then
    redis.call('SET', gauges, ARGV[8] .. '|' .. ARGV[9], 'EX', liveTtl)
  end
end

redis.call('EXPIRE', cum, stateTtl)
redis.call('ZADD', proxies, now, proxy)
redis.call('ZREMRANGEBYSCORE', proxies, '-inf', now - liveTtl * 1000)
redis.call('EXPIRE', proxies, liveTtl)
return { counted, skipped }
`;
