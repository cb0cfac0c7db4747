-- wrk script for the HTTP workloads H1–H3: the request comes from the environment, every
-- response's status is counted, and `done` writes one JSON object with requests/s, the
-- latency percentiles and the statuses, so that .ci/bench.sh can fail on any status the
-- workload does not expect.
--
--   BENCH_METHOD  GET (default) or PUT        BENCH_BODY    request body (JSON)
--   BENCH_IF      value of the If header      BENCH_EXPECT  accepted statuses, "200,204"
--   BENCH_RESULT  where to write the JSON

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local if_header = os.getenv("BENCH_IF")
if if_header and if_header ~= "" then
  wrk.headers["If"] = if_header
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local expected = {}
  for code in string.gmatch(os.getenv("BENCH_EXPECT") or "200", "%d+") do
    expected[tonumber(code)] = true
  end
  local counts, unexpected = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
      if not expected[status] then
        unexpected = unexpected + n
      end
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local json = string.format(
    '{"requests": %d, "seconds": %.3f, "requests_per_sec": %.1f, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "statuses": {%s}, "unexpected": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", "), unexpected,
    e.connect, e.read, e.write, e.status, e.timeout)
  local path = os.getenv("BENCH_RESULT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(json)
    f:close()
  end
  io.write(json)
end
