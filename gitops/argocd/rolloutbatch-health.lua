-- Argo CD health check for tushare-rollout.io/RolloutBatch (docs/gitops.md).
-- Installed through argocd-cm (gitops/argocd/argocd-cm.yaml carries an identical copy, checked by a test).
-- Argo CD runs it without the Lua standard libraries (no `string`), so it uses only base Lua: `..`, ipairs,
-- type, tonumber. It reads status only; the operator writes status once per change, so health never flaps.
--
--   no status, or status.observedGeneration < metadata.generation   Progressing  waiting for the operator
--   condition Stalled=True (a person must act; also when paused)    Degraded     status.message (+ frozenFrom)
--   condition Paused=True (spec.paused)                             Suspended    status.message
--   condition Ready=True (every phase up to the target passed)      Healthy      status.message
--   condition Reconciling=True, or state Waiting, or anything else  Progressing  status.message (Waiting: why)
local hs = {}

local function text(value, fallback)
  if type(value) == "string" and value ~= "" then
    return value
  end
  return fallback
end

local function condition(status, kind)
  if type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == kind then
      return c
    end
  end
  return nil
end

local function isTrue(status, kind)
  local c = condition(status, kind)
  return c ~= nil and c.status == "True"
end

local status = obj.status
if type(status) ~= "table" or tonumber(status.observedGeneration) == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator: it has not reported on this RolloutBatch yet"
  return hs
end

local generation = nil
if type(obj.metadata) == "table" then
  generation = tonumber(obj.metadata.generation)
end
local observed = tonumber(status.observedGeneration)
if generation ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "waiting for the operator: generation " .. generation .. " not observed yet (status is of "
    .. observed .. ")"
  return hs
end

local message = text(status.message, "")

if isTrue(status, "Stalled") then
  hs.status = "Degraded"
  hs.message = text(status.message, text(condition(status, "Stalled").message, "stalled: a person must act"))
  local frozen = text(status.frozenFrom, "")
  if frozen ~= "" then
    hs.message = hs.message .. " (phases after " .. frozen .. " are frozen)"
  end
  return hs
end

if isTrue(status, "Paused") then
  hs.status = "Suspended"
  if status.state == "Paused" or message == "" then
    hs.message = text(status.message, "paused by spec.paused: nothing new starts")
  else
    hs.message = "paused by spec.paused: " .. message
  end
  return hs
end

if isTrue(status, "Ready") then
  hs.status = "Healthy"
  hs.message = text(status.message, "every phase up to the target passed")
  return hs
end

hs.status = "Progressing"
if status.state == "Waiting" then
  hs.message = "waiting: " .. text(status.message, "a rule holds the next phase (see status.phases)")
elseif isTrue(status, "Reconciling") then
  hs.message = text(status.message, "reconciling")
else
  hs.message = text(status.message, "state " .. text(status.state, "unknown"))
end
return hs
