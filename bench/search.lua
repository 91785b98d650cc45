-- wrk script: cycles through the paths in the file named by $PATHS (one per line), with the
-- session cookie in $COOKIE. Bounded by wrk's -d; loopback only.
local paths = {}
local i = 0
init = function(args)
  local f = assert(io.open(os.getenv("PATHS"), "r"))
  for line in f:lines() do
    if #line > 0 then paths[#paths + 1] = line end
  end
  f:close()
  -- Each thread starts at a different place in the list.
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Cookie"] = os.getenv("COOKIE"), ["Accept"] = "application/json" })
end
