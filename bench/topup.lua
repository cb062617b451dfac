-- wrk script: durable top-ups with a fresh Idempotency-Key per request, spread over the
-- customers listed (one id per line) in the file named by env STATION_BENCH_CUSTOMERS.
-- Usage: wrk -t2 -c64 -d20s --latency -s bench/topup.lua http://127.0.0.1:PORT
local customers = {}
local counter = 0
local thread_tag = ""
local threads = {}

function setup(thread)
  thread:set("tag", tostring(#threads + 1) .. "-" .. tostring(os.time()))
  table.insert(threads, thread)
end

function init(args)
  thread_tag = tag
  for line in io.lines(os.getenv("STATION_BENCH_CUSTOMERS")) do
    table.insert(customers, line)
  end
  wrk.method = "POST"
  wrk.path = "/v1/topups"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("STATION_BENCH_KEY")
end

function request()
  counter = counter + 1
  local customer = customers[(counter % #customers) + 1]
  wrk.headers["Idempotency-Key"] = "bench-" .. thread_tag .. "-" .. counter
  local body = string.format(
    '{"customer_id":"%s","amount_minor":%d,"currency":"CNY","channel":"app"}',
    customer, (counter % 10000) + 1)
  return wrk.format(nil, nil, nil, body)
end

local failures = 0
function response(status, headers, body)
  if status ~= 201 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n") end
  end
end
