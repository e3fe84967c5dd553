-- read.lua — wrk script for bench/policy/run.sh: GET /fhir/Patient/{id} for ids
-- read from the file named by IDS_FILE, with the bearer token in KITH_TOKEN.
local ids = {}
local auth = ""

function init(args)
  for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
  local t = os.getenv("KITH_TOKEN")
  if t and #t > 0 then auth = "Authorization: Bearer " .. t .. "\r\n" end
  math.randomseed(os.time() * 1000 + math.random(1000))
end

function request()
  local id = ids[math.random(#ids)]
  return "GET /fhir/Patient/" .. id .. " HTTP/1.1\r\nHost: " .. wrk.host .. "\r\nAccept: application/fhir+json\r\n" ..
         auth .. "\r\n"
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%d\n", summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
