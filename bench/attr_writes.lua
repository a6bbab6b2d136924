-- wrk script: POST {"value": N} to /v1/devices/{nodeId}/attributes/custom:bench, cycling over the
-- node ids in $NODES (one per line; bench/README.md makes the file from a workload's tailnet.json).
local nodes, n, i, value = {}, 0, 0, 0
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args)
  for line in io.lines(os.getenv("NODES") or "nodes.txt") do n = n + 1; nodes[n] = line end
  i = (id or 1) * 7919 % n
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  i = i % n + 1
  value = value + 1
  return wrk.format(nil, "/v1/devices/" .. nodes[i] .. "/attributes/custom:bench",
                    nil, '{"value": ' .. value .. '}')
end
