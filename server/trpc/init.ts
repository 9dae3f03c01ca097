import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { z, ZodError } from 'zod';
import type { Role } from '../../db/types';
import { InvalidEventError } from '../../events/catalog';
import { ConcurrencyError, ProjectionConflictError } from '../../events/errors';
import { CommandError } from '../errors';
import { createLogger } from '../log';
import { requireMembership } from '../orgs/memberships';
import { OrgSlug } from '../orgs/organizations';
import type { Context } from './context';

const log = createLogger((process.env.LOG_LEVEL as 'info' | undefined) ?? 'info', { component: 'trpc' });

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 30_000 } },
  errorFormatter({ shape, error }) {
    const { stack: _stack, ...data } = shape.data;
    return {
      ...shape,
      data: { ...data, zodError: error.cause instanceof ZodError ? z.flattenError(error.cause) : null },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const CODES = {
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
} as const;

/**
 * Turns domain errors into tRPC codes with their readable message, and anything unexpected into
 * INTERNAL_SERVER_ERROR carrying only a request id (the details go to the log under that id).
 */
const errors = t.middleware(async ({ ctx, next, path, type }) => {
  const result = await next();
  if (result.ok) return result;
  const err = result.error;
  const cause = err.cause;
  if (cause instanceof CommandError)
    throw new TRPCError({
      code: CODES[cause.code],
      message: cause.message,
      cause: cause.details?.issues ? new ZodError(cause.details.issues as never) : undefined,
    });
  if (cause instanceof InvalidEventError)
    throw new TRPCError({ code: 'BAD_REQUEST', message: cause.message });
  if (cause instanceof ConcurrencyError)
    throw new TRPCError({ code: 'CONFLICT', message: 'It changed while you were changing it; try again' });
  if (cause instanceof ProjectionConflictError)
    throw new TRPCError({ code: 'CONFLICT', message: cause.message });
  if (err.code === 'INTERNAL_SERVER_ERROR') {
    log.error('procedure failed', {
      requestId: ctx.requestId,
      path,
      type,
      error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause ?? err.message),
    });
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: `Internal error (request ${ctx.requestId})`,
    });
  }
  return result;
});

/**
 * Mutations must carry `x-claws-csrf: 1`, a header a cross-site page cannot send without a CORS
 * preflight (which Claws never grants), and, when the browser says where it comes from, the Origin
 * must be this server's.
 */
const sameOrigin = t.middleware(async ({ ctx, next, type }) => {
  if (type !== 'mutation') return next();
  const origin = ctx.headers.get('origin');
  const host = ctx.headers.get('host');
  const allowed = ctx.runtime.config.CLAWS_ALLOWED_ORIGINS?.split(',').map((o) => o.trim()) ?? [];
  const originOk = !origin || (host !== null && new URL(origin).host === host) || allowed.includes(origin);
  if (ctx.headers.get('x-claws-csrf') !== '1' || !originOk)
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Cross-site request refused' });
  return next();
});

export const publicProcedure = t.procedure.use(errors).use(sameOrigin);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

/** Procedures about one organization: non-members get NOT_FOUND, never a hint the org exists. */
export const orgProcedure = authedProcedure
  .input(z.object({ orgSlug: OrgSlug }))
  .use(async ({ ctx, input, next }) => {
    const m = await requireMembership(ctx.runtime.database.db, ctx.user.id, input.orgSlug);
    if (!m) throw new TRPCError({ code: 'NOT_FOUND', message: 'Organization not found' });
    return next({ ctx: { ...ctx, org: m.org, role: m.role } });
  });

const ADMIN_ROLES: Role[] = ['owner', 'admin'];
export const orgAdminProcedure = orgProcedure.use(({ ctx, next }) => {
  if (!ADMIN_ROLES.includes(ctx.role))
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: 'Only owners and admins of the organization may do this',
    });
  return next();
});

export const platformAdminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!ctx.user.is_platform_admin)
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Platform admins only' });
  return next();
});
