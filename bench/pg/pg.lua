-- pg.lua — wrk script for bench/pg/run.sh: read a Patient by id, or find one
-- by NHS number (a token search), at random over the people of a synthetic
-- place. Each line of the ids file is "ID NHS_NUMBER".
--
--   wrk -t1 -c4 -d10s --latency -s bench/pg/pg.lua URL -- read|token IDS_FILE [SEED]
--
-- LuaJIT starts every thread's random numbers from the same state, so without
-- a seed each wrk thread (and each wrk process) would ask for the same people
-- in the same order, and all but the first would find them already cached.
-- Each thread is seeded from SEED (default 0; give each wrk run at the same
-- time its own) and its own number; runs stay repeatable.
local people = {}
local mode = "read"
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

function init(args)
  mode = args[1] or "read"
  for line in io.lines(args[2]) do
    local id, nhs = line:match("^(%S+)%s+(%S+)")
    if id then table.insert(people, { id, nhs }) end
  end
  math.randomseed((tonumber(args[3]) or 0) * 1000 + (thread_no or 1))
end

request = function()
  local p = people[math.random(1, #people)]
  local path
  if mode == "token" then
    path = "/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number%7C" .. p[2]
  else
    path = "/fhir/Patient/" .. p[1]
  end
  local t = os.getenv("KITH_TOKEN")
  return wrk.format("GET", path, (t and #t > 0) and { Authorization = "Bearer " .. t } or nil)
end
