import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { MiniState } from '../../events/mini';
import { miniByHostname } from '../../projections/minis';
import { DEV_AGENT_TOKEN } from './agent-api';
import { registerMini, type FleetCommandContext } from './commands';

/** The token a local agent started with `--dev` uses when MINI_AGENT_TOKEN is not set. Local runs only. */
export { DEV_AGENT_TOKEN };

const SEED_SQL = path.resolve(import.meta.dirname, '../../scripts/seed-dev-mini.sql');

interface DevMiniDefinition {
  hostname: string;
  agent_url: string;
  tunnel_suffix: string;
  port_range_start: number;
  port_range_end: number;
  capacity: number;
}

/**
 * Registers the local development Mini defined in scripts/seed-dev-mini.sql, through the event log.
 * Idempotent: a Mini with that hostname already registered is returned as it is.
 */
export async function seedDevMini(
  ctx: FleetCommandContext,
  overrides: {
    agentUrl?: string;
    agentToken?: string;
    agentCertFingerprint?: string;
    tunnelSuffix?: string;
  } = {},
): Promise<{ mini: MiniState; created: boolean }> {
  const query = fs.readFileSync(SEED_SQL, 'utf8');
  const { rows } = await sql<DevMiniDefinition>`${sql.raw(query.replace(/;\s*$/, ''))}`.execute(ctx.store.db);
  const def = rows[0];
  if (!def) throw new Error(`${SEED_SQL} defines no Mini`);
  const existing = await miniByHostname(ctx.store.db, def.hostname);
  if (existing) return { mini: existing, created: false };
  const mini = await registerMini(ctx, {
    hostname: def.hostname,
    agentUrl: overrides.agentUrl ?? def.agent_url,
    agentToken: overrides.agentToken ?? DEV_AGENT_TOKEN,
    ...(overrides.agentCertFingerprint ? { agentCertFingerprint: overrides.agentCertFingerprint } : {}),
    tunnelSuffix: overrides.tunnelSuffix ?? def.tunnel_suffix,
    portRangeStart: Number(def.port_range_start),
    portRangeEnd: Number(def.port_range_end),
    capacity: Number(def.capacity),
  });
  return { mini, created: true };
}
