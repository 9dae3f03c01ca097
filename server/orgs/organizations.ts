import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database, Organization } from '../../db/types';
import { asPgError } from '../../events/errors';
import { conflict, notFound } from '../../events/errors';
import { slugify } from '../claws/slug';
import { text } from '../validation';

export const OrgSlug = z
  .string()
  .trim()
  .min(2, 'must be at least 2 characters')
  .max(40, 'must be at most 40 characters')
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'lowercase letters, digits and inner hyphens only');
export const OrgName = text(1, 80);

/** Organizations are ordinary rows (identity is not event-sourced); claws refer to them by id. */
export async function createOrganization(
  db: Kysely<Database>,
  input: { name: string; slug?: string },
): Promise<Organization> {
  const name = OrgName.parse(input.name);
  const slug = OrgSlug.parse(input.slug ?? slugify(name, 40));
  try {
    return await db
      .insertInto('organizations')
      .values({ id: randomUUID(), name, slug })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (asPgError(err).code === '23505') throw conflict(`The organization slug "${slug}" is taken`);
    throw err;
  }
}

export async function findOrganizationBySlug(
  db: Kysely<Database>,
  slug: string,
): Promise<Organization | undefined> {
  return db.selectFrom('organizations').selectAll().where('slug', '=', slug).executeTakeFirst();
}

export async function getOrganizationBySlug(db: Kysely<Database>, slug: string): Promise<Organization> {
  const org = await findOrganizationBySlug(db, slug);
  if (!org) throw notFound(`Organization "${slug}"`);
  return org;
}
