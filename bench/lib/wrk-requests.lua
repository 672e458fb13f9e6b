-- wrk script shared by every throughput run: it cycles through pre-built requests read from the file named
-- by the first script argument (one per line: a path, then tab-separated "name: value" headers), so every
-- subject sees the same request mix at the same client cost, and it prints the run's totals as one JSON line.
local built = {}
local count = 0
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
    local headers = {}
    for k = 2, #fields do
      local name, value = string.match(fields[k], "^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    count = count + 1
    built[count] = wrk.format("GET", fields[1], headers)
  end
end

function request()
  next_index = next_index % count + 1
  return built[next_index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"bytes":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latencyUs":{"p50":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
