-- wrk script: sends pre-built requests read from a file, one per line as
-- "METHOD PATH BODY", each thread starting at its own offset so that questions stay distinct.
-- Arguments (after --): requests file, collect mode (none | flag | timings), output prefix.
-- "flag" counts responses that say "cached":true; "timings" also writes each answer's stage
-- timings to OUTPUT-PREFIX.<thread>. done() prints one JSON line.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests = {}
local at = 1
local mode = "none"
local out = nil
cached = 0

function init(args)
  local file = args[1]
  mode = args[2] or "none"
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(file) do
    local method, path, body = line:match("^(%u+) (%S+) ?(.*)$")
    if method == "GET" then
      requests[#requests + 1] = wrk.format("GET", path)
    else
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
  end
  local share = math.floor(#requests / (tonumber(args[4]) or 1))
  at = (tid * share) % #requests + 1
  if mode == "timings" then
    out = io.open(args[3] .. "." .. tid, "w")
    out:setvbuf("full")
  end
  if mode == "none" then
    response = nil
  end
end

function request()
  local r = requests[at]
  at = at + 1
  if at > #requests then at = 1 end
  return r
end

function response(status, headers, body)
  if status ~= 200 then return end
  if body:find('"cached":true', 1, true) then
    cached = cached + 1
  end
  if out ~= nil then
    local e, s, a = body:match('"embed":([%d.]+),"search":([%d.]+),"answer":([%d.]+)')
    local t = body:match('"total":([%d.]+)')
    if e and t then
      out:write(e, " ", s, " ", a, " ", t, "\n")
    end
  end
end

function done(summary, latency, requests)
  local hits = 0
  for _, thread in ipairs(threads) do
    hits = hits + (thread:get("cached") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"cached":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, hits, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
