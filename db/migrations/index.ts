import type { Migration } from 'kysely/migration';
import * as m0001 from './2026_11_24_0001_event_store';
import * as m0002 from './2026_11_24_0002_projections';
import * as m0003 from './2026_11_24_0003_identity';
import * as m0004 from './2026_12_02_0004_reconciliation';
import * as m0005edge from './2026_12_03_0005_mini_edge';
import * as m0006 from './2026_12_03_0006_agent_cert_fingerprint';
import * as identityHardening from './2026_12_03_0007_identity_hardening';
import * as m0008 from './2026_12_03_0008_claw_started_at';
import * as m0009 from './2026_12_04_0009_backups';
import * as m0010 from './2026_12_04_0010_gateway_exits';
import * as m0011 from './2026_12_05_0011_mini_memory';

/** A static list, so a bundled server needs no file-system migration loader. Append only. */
export const migrations: Record<string, Migration> = {
  '2026_11_24_0001_event_store': m0001,
  '2026_11_24_0002_projections': m0002,
  '2026_11_24_0003_identity': m0003,
  '2026_12_02_0004_reconciliation': m0004,
  '2026_12_03_0005_mini_edge': m0005edge,
  '2026_12_03_0006_agent_cert_fingerprint': m0006,
  '2026_12_03_0007_identity_hardening': identityHardening,
  '2026_12_03_0008_claw_started_at': m0008,
  '2026_12_04_0009_backups': m0009,
  '2026_12_04_0010_gateway_exits': m0010,
  '2026_12_05_0011_mini_memory': m0011,
};
