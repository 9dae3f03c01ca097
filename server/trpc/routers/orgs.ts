import { z } from 'zod';
import { Email } from '../../auth/users';
import {
  addMember,
  createOrganizationWithOwner,
  listMembers,
  listOrganizations,
  RoleSchema,
} from '../../orgs/memberships';
import { OrgName, OrgSlug } from '../../orgs/organizations';
import { authedProcedure, orgAdminProcedure, orgProcedure, router } from '../init';

export const orgsRouter = router({
  create: authedProcedure
    .input(z.object({ name: OrgName, slug: OrgSlug.optional() }))
    .mutation(({ ctx, input }) => createOrganizationWithOwner(ctx.runtime.database.db, ctx.user.id, input)),

  list: authedProcedure.query(({ ctx }) => listOrganizations(ctx.runtime.database.db, ctx.user.id)),

  members: orgProcedure.query(({ ctx }) => listMembers(ctx.runtime.database.db, ctx.org.id)),

  addMember: orgAdminProcedure
    .input(z.object({ email: Email, role: RoleSchema }))
    .mutation(({ ctx, input }) => addMember(ctx.runtime.database.db, ctx.org.id, input.email, input.role)),
});
