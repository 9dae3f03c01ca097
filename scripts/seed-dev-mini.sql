-- The local development Mini (formerly cloud/scripts/seed-dev-mini.sql, which inserted a row).
-- Rows of mac_minis are a projection of the event log, so this file only DEFINES the Mini;
-- `npm run seed:dev-mini` reads it and registers the Mini through the registerMini command,
-- which appends MiniRegistered (and stores the agent token encrypted, outside the log).
-- The agent token is not here: it comes from MINI_AGENT_TOKEN, or the local agent's dev default.
SELECT
  'dev-mini.local'          AS hostname,
  'http://127.0.0.1:7070'   AS agent_url,
  'claws.localhost'         AS tunnel_suffix,
  19000                     AS port_range_start,
  19099                     AS port_range_end,
  20                        AS capacity;
