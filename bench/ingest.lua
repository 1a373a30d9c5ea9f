-- wrk script for bench/ingest.py: POSTs pre-generated Alertmanager webhook bodies in a cycle.
--
--   wrk -t1 -c8 -d10s -s bench/ingest.lua URL -- BODY_DIR N_BODIES BASE_CYCLE
--
-- BODY_DIR holds 1.json .. N.json. Every occurrence of the marker @@TOK@ in a body (it sits in
-- each alert's fingerprint and `pod` label) is replaced by the cycle number as 6 hex digits, so
-- each pass over the bodies sends new alerts while the repeats *within* a pass stay repeats.
-- BASE_CYCLE makes every wrk invocation (warm-up, measurement) use its own cycles.
-- At the end it prints one line "BENCH_RESULT {json}" that bench/ingest.py parses.

local bodies = {}
local n = 0
local base = 0
local counter = 0
non200 = 0  -- global: read from each thread in done()
local threads = {}
local headers = {["Content-Type"] = "application/json"}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local dir = args[1]
  n = tonumber(args[2])
  base = tonumber(args[3]) + (tid or 0) * 4096
  for i = 1, n do
    local f = assert(io.open(dir .. "/" .. i .. ".json", "rb"))
    local body = f:read("*a")
    f:close()
    -- Split once at the markers; each request is then one table.concat (a single copy).
    local pieces, pos = {}, 1
    while true do
      local s, e = string.find(body, "@@TOK@", pos, true)
      if not s then break end
      pieces[#pieces + 1] = string.sub(body, pos, s - 1)
      pos = e + 1
    end
    pieces[#pieces + 1] = string.sub(body, pos)
    bodies[i] = pieces
  end
end

function request()
  local i = counter % n
  local cycle = base + math.floor(counter / n)
  counter = counter + 1
  local body = table.concat(bodies[i + 1], string.format("%06x", cycle))
  return wrk.format("POST", nil, headers, body)
end

function response(status, hdrs, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (tonumber(t:get("non200")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"non200": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, bad, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
