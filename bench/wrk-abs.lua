-- wrk script for the proxy benchmarks: sends absolute-form requests through a proxy.
-- BENCH_PATH: the request-target (http://127.0.0.1:ORIGIN/1k.bin for a proxy, /1k.bin direct)
-- BENCH_HOST: the Host header (127.0.0.1:ORIGIN)
local path = os.getenv("BENCH_PATH")
local host = os.getenv("BENCH_HOST")
if path == nil or host == nil then
  io.stderr:write("wrk-abs.lua: set BENCH_PATH and BENCH_HOST\n")
  os.exit(2)
end
wrk.path = path
wrk.headers["Host"] = host
