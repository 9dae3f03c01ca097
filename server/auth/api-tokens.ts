import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, GrantableRole } from '../../db/types';
import { notFound } from '../../events/errors';
import { assertTokenQuota, lockOrganization } from '../limits/quotas';

/**
 * API tokens for automation: `claws_<43 base64url chars>` (256 random bits), scoped to one
 * organization with a role, shown once and stored as SHA-256 (a high-entropy token needs no slow
 * hash). Sent as `Authorization: Bearer claws_…` to the tRPC endpoint only.
 */
export const TOKEN_PREFIX = 'claws_';
const SHAPE = /^claws_[A-Za-z0-9_-]{43}$/;
/** last_used_at is written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

export const hashApiToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface ApiTokenPrincipal {
  id: string;
  orgId: string;
  name: string;
  role: GrantableRole;
}

export interface ApiTokenListing {
  id: string;
  name: string;
  role: GrantableRole;
  prefix: string;
  createdAt: Date;
  createdBy: string | null;
  lastUsedAt: Date | null;
}

export async function createApiToken(
  db: Kysely<Database>,
  input: { orgId: string; name: string; role: GrantableRole; createdBy: string; quota: number },
): Promise<{ token: string; listing: ApiTokenListing }> {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  const prefix = token.slice(0, TOKEN_PREFIX.length + 6);
  const row = await db.transaction().execute(async (trx) => {
    await lockOrganization(trx, input.orgId);
    await assertTokenQuota(trx, input.orgId, input.quota);
    return trx
      .insertInto('api_tokens')
      .values({
        id,
        org_id: input.orgId,
        name: input.name,
        role: input.role,
        token_hash: hashApiToken(token),
        prefix,
        created_by: input.createdBy,
        last_used_at: null,
        revoked_at: null,
      })
      .returning(['created_at'])
      .executeTakeFirstOrThrow();
  });
  return {
    token,
    listing: {
      id,
      name: input.name,
      role: input.role,
      prefix,
      createdAt: row.created_at,
      createdBy: input.createdBy,
      lastUsedAt: null,
    },
  };
}

/** The token's principal from an Authorization header value; null when absent, malformed, unknown or revoked. */
export async function authenticateBearer(
  db: Kysely<Database>,
  authorization: string | null | undefined,
  now = new Date(),
): Promise<ApiTokenPrincipal | null> {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  const token = m?.[1];
  if (!token || !SHAPE.test(token)) return null;
  const row = await db
    .selectFrom('api_tokens')
    .select(['id', 'org_id', 'name', 'role', 'last_used_at'])
    .where('token_hash', '=', hashApiToken(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > TOUCH_EVERY_MS)
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  return { id: row.id, orgId: row.org_id, name: row.name, role: row.role };
}

export async function listApiTokens(db: Kysely<Database>, orgId: string): Promise<ApiTokenListing[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .leftJoin('users', 'users.id', 'api_tokens.created_by')
    .select([
      'api_tokens.id',
      'api_tokens.name',
      'api_tokens.role',
      'api_tokens.prefix',
      'api_tokens.created_at',
      'api_tokens.last_used_at',
      'users.name as creator',
    ])
    .where('api_tokens.org_id', '=', orgId)
    .where('api_tokens.revoked_at', 'is', null)
    .orderBy('api_tokens.created_at', 'desc')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role,
    prefix: r.prefix,
    createdAt: r.created_at,
    createdBy: r.creator,
    lastUsedAt: r.last_used_at,
  }));
}

export async function revokeApiToken(db: Kysely<Database>, orgId: string, tokenId: string): Promise<void> {
  const r = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', tokenId)
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) throw notFound('API token');
}
