-- token.lua — wrk script: a random Observation token search per request,
-- code + subject, over the data of bench/search/gen-observations.mjs.
local codes = { "8867-4", "8480-6", "8462-4", "29463-7", "8310-5" }
request = function()
  local p = math.random(1, 100000)
  local path = string.format("/fhir/Observation?code=http://loinc.org%%7C%s&subject=Patient/bench-%06d",
    codes[math.random(1, #codes)], p)
  local t = os.getenv("KITH_TOKEN")
  return wrk.format("GET", path, (t and #t > 0) and { Authorization = "Bearer " .. t } or nil)
end
