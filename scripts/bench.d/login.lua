-- POST /api/auth/login: -- <email> <password>
local body
function init(args)
  body = '{"email":"' .. args[1] .. '","password":"' .. args[2] .. '"}'
end
function request()
  return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" }, body)
end
