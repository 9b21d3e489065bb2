-- GET with a bearer token: wrk -s auth_get.lua <url> -- <token>
local token
function init(args) token = args[1] end
function request()
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token })
end
