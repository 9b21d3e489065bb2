-- POST /api/orders at a paced rate: each connection pauses <pause_ms> after every
-- answer, so C connections offer about C * 1000 / pause_ms orders/s.
-- wrk -s paced.lua <url> -- <token> <sku> <pause_ms>
local token, sku, pause, n
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  token, sku, pause = args[1], args[2], tonumber(args[3])
  n = 0
end
function delay()
  return pause
end
function request()
  n = n + 1
  local body = '{"items":[{"sku":"' .. sku .. '","quantity":1}]}'
  return wrk.format("POST", "/api/orders", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("paced-%s-%d-%d", os.time(), tid or 0, n),
  }, body)
end
