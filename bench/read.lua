-- read.lua — wrk script for bench/run.sh: read by id.
--
-- Each request is GET /fhir/Patient/bench-NNNNNN with NNNNNN drawn at random
-- from 1..N (the ids bench/gen-patients.mjs writes), over keep-alive.
--
--   wrk -t2 -c64 -d20s --latency -s bench/read.lua http://127.0.0.1:PORT -- N [WIDTH]
--
-- N defaults to 100000 and WIDTH (digits in the id) to 6. At the end it
-- prints one tab-separated line for run.sh to parse (times in ms):
--   RESULT requests seconds req/s p50 p90 p99 max non2xx socket_errors -

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local n, fmt

-- "Authorization: Bearer ...\r\n" from KITH_TOKEN (run.sh issues one), or "".
function auth_line()
  local t = os.getenv("KITH_TOKEN")
  if t and #t > 0 then return "Authorization: Bearer " .. t .. "\r\n" end
  return ""
end

function init(args)
  n = tonumber(args[1] or "100000")
  local width = tonumber(args[2] or "6")
  -- A prebuilt request line: cheaper for wrk than wrk.format per request,
  -- which matters when client and server share two cores.
  fmt = "GET /fhir/Patient/bench-%0" .. width .. "d HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. tostring(wrk.port) ..
        "\r\nAccept: application/fhir+json\r\n" .. auth_line() .. "\r\n"
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function request()
  return string.format(fmt, math.random(1, n))
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT\t%d\t%.3f\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t-\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
