-- wrk script: plain GET of the URL given to wrk (os-interface list or show).
-- Env: BENCH_LUA_DIR (dir of common.lua), BENCH_OP=list|show (label),
--      BENCH_PEROP=1 for Lua-side per-request timing (per-op latencies).
dofile((os.getenv("BENCH_LUA_DIR") or ".") .. "/common.lua")

local op = os.getenv("BENCH_OP") or "list"
local req

function init(args)
  req = wrk.format("GET", wrk.path)
end

if bench_perop then
  codes = {}
  local t0
  local verified = false
  function request()
    -- wrk calls request() once on thread 0 before the run to count the
    -- pipeline depth; that call is never sent.
    if tid == 0 and not verified then verified = true; return req end
    t0 = bench_now_us()
    return req
  end
  function response(status, headers, body)
    bench_record(op, bench_now_us() - t0)
    codes[status] = (codes[status] or 0) + 1
  end
else
  function request() return req end
end
