-- Helpers for bench/run's wrk script (wrk 4.x, LuaJIT).
-- Loaded with dofile() from get.lua; every wrk Lua state
-- (main + one per thread) gets its own copy.
--
-- Env:
--   BENCH_PEROP=1   time every request in Lua (needs response(), costs a few
--                   us per request in the load generator) and print BENCHOP
--                   lines per operation (bench/run does not set it).

local ffi = require("ffi")
pcall(ffi.cdef, [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]])
local ts = ffi.new("bench_timespec")
function bench_now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

bench_perop = os.getenv("BENCH_PEROP") == "1"

-- main state: remember threads so done() can pull per-thread tables
local bench_threads = {}
local bench_counter = 0
function setup(thread)
  thread:set("tid", bench_counter)
  bench_counter = bench_counter + 1
  bench_threads[#bench_threads + 1] = thread
end

-- per-op latency samples (thread states): lat[op] = { us, us, ... }
lat = {}
function bench_record(op, us)
  local t = lat[op]
  if not t then t = {}; lat[op] = t end
  t[#t + 1] = us
end

local function pct(sorted, p)
  local n = #sorted
  if n == 0 then return 0 end
  local i = math.ceil(p / 100 * n)
  if i < 1 then i = 1 end
  return sorted[i]
end

-- wrk's thread:get() only copies flat values reliably (its table copy pops
-- one value too many and crashes on nested tables), so per-op samples are
-- handed over as ONE string: a global read through __index runs this
-- serializer inside the (finished) thread's own Lua state.
local function bench_dump()
  local out = {}
  for op, arr in pairs(lat) do
    local s = {}
    for i = 1, #arr do s[i] = string.format("%.1f", arr[i]) end
    out[#out + 1] = op .. "=" .. table.concat(s, ",")
  end
  local c = {}
  for k, v in pairs(codes or {}) do c[#c + 1] = tostring(k) .. ":" .. tostring(v) end
  out[#out + 1] = "codes=" .. table.concat(c, ",")
  return table.concat(out, ";")
end
setmetatable(_G, { __index = function(_, k)
  if k == "bench_dump" then return bench_dump() end
  return nil
end })

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCHRESULT requests=%d duration_us=%d rps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f " ..
    "err_status=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
  if not bench_perop then return end
  local all, codes_all = {}, {}
  for _, t in ipairs(bench_threads) do
    local s = t:get("bench_dump") or ""
    for part in string.gmatch(s, "[^;]+") do
      local op, vals = part:match("^([^=]+)=(.*)$")
      if op == "codes" then
        for k, v in string.gmatch(vals, "([^,:]+):(%d+)") do
          codes_all[k] = (codes_all[k] or 0) + tonumber(v)
        end
      elseif op then
        all[op] = all[op] or {}
        local dst = all[op]
        for v in string.gmatch(vals, "[^,]+") do dst[#dst + 1] = tonumber(v) end
      end
    end
  end
  for _, op in ipairs({"list", "show", "attach", "detach"}) do
    local arr = all[op]
    if arr and #arr > 0 then
      table.sort(arr)
      local sum = 0
      for _, v in ipairs(arr) do sum = sum + v end
      io.write(string.format(
        "BENCHOP op=%s n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f\n",
        op, #arr, pct(arr, 50), pct(arr, 90), pct(arr, 99), sum / #arr, arr[#arr]))
    end
  end
  local parts = {}
  for k, v in pairs(codes_all) do parts[#parts + 1] = k .. ":" .. v end
  table.sort(parts)
  io.write("BENCHCODES " .. table.concat(parts, " ") .. "\n")
end
