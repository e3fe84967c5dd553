-- create.lua — wrk script for bench/run.sh: create one Patient per request.
--
-- Each request is POST /fhir/Patient (Content-Type application/fhir+json)
-- with a new synthetic Patient (random name, gender, birthDate, address and
-- a valid test-range NHS number), over keep-alive. Responses are counted by
-- status so run.sh can check the store grew by exactly the number of 201s.
--
--   wrk -t2 -c16 -d10s --latency -s bench/create.lua http://127.0.0.1:PORT
--
-- At the end it prints one tab-separated line for run.sh (times in ms):
--   RESULT requests seconds req/s p50 p90 p99 max non2xx socket_errors count201

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local FAMILY = { "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Patel", "Khan", "Evans", "Begum", "Okafor" }
local GIVEN = { "Oliver", "Amelia", "George", "Isla", "Mohammed", "Margaret", "Arthur", "Fatima", "Jack", "Grace" }
local GENDER = { "male", "female", "female", "male", "other", "unknown" }
local TOWN = { { "Leeds", "LS" }, { "Bradford", "BD" }, { "Wakefield", "WF" }, { "York", "YO" } }

local head
local serial = 0
count201 = 0

-- A 999-prefixed (test range) NHS number with a valid Modulus 11 check digit.
local function nhs_number()
  while true do
    local d = string.format("999%06d", math.random(0, 999999))
    local sum = 0
    for j = 1, 9 do sum = sum + tonumber(d:sub(j, j)) * (11 - j) end
    local check = 11 - sum % 11
    if check == 11 then check = 0 end
    if check ~= 10 then return d .. check end
  end
end

-- "Authorization: Bearer ...\r\n" from KITH_TOKEN (run.sh issues one), or "".
function auth_line()
  local t = os.getenv("KITH_TOKEN")
  if t and #t > 0 then return "Authorization: Bearer " .. t .. "\r\n" end
  return ""
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  head = "POST /fhir/Patient HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. tostring(wrk.port) ..
         "\r\n" .. auth_line() .. "Content-Type: application/fhir+json\r\nAccept: application/fhir+json\r\nContent-Length: "
end

function request()
  serial = serial + 1
  local t = TOWN[math.random(#TOWN)]
  local body = string.format(
    '{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"%s"}],' ..
    '"active":true,"name":[{"use":"official","family":"%s","given":["%s"]}],' ..
    '"telecom":[{"system":"phone","value":"07%09d","use":"mobile"}],"gender":"%s","birthDate":"%d-%02d-%02d",' ..
    '"address":[{"use":"home","line":["%d High Street"],"city":"%s","postalCode":"%s%d %dAB","country":"GB"}]}',
    nhs_number(), FAMILY[math.random(#FAMILY)], GIVEN[math.random(#GIVEN)], math.random(0, 999999999),
    GENDER[math.random(#GENDER)], math.random(1920, 2023), math.random(1, 12), math.random(1, 28),
    math.random(1, 250), t[1], t[2], math.random(1, 29), math.random(1, 9))
  return head .. #body .. "\r\n\r\n" .. body
end

function response(status, headers, body)
  if status == 201 then count201 = count201 + 1 end
end

function done(summary, latency, requests)
  local n201 = 0
  for _, t in ipairs(threads) do n201 = n201 + (t:get("count201") or 0) end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT\t%d\t%.3f\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout, n201))
end
