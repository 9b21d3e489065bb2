-- POST /api/orders with a distinct Idempotency-Key per request: -- <token> <sku>
local token, sku, n
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  token, sku = args[1], args[2]
  n = 0
end
function request()
  n = n + 1
  local body = '{"items":[{"sku":"' .. sku .. '","quantity":1}]}'
  return wrk.format("POST", "/api/orders", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", os.time(), tid or 0, n),
  }, body)
end
