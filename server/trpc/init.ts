import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { z, ZodError } from 'zod';
import { isConnectionError } from '../../db/errors';
import type { Role } from '../../db/types';
import { InvalidEventError } from '../../events/stream';
import { ConcurrencyError, ProjectionConflictError } from '../../events/errors';
import { CommandError } from '../../events/errors';
import { FailureError } from '../failure';
import { ForbiddenError, QuotaExceededError, TooManyRequestsError } from '../limits/errors';
import { requireMembership } from '../orgs/memberships';
import { OrgSlug } from '../orgs/organizations';
import type { Context } from './context';

const INTERNAL_MESSAGE = /^Internal error \(request ([\w-]+)\)$/;
export const internalMessage = (requestId: string) => `Internal error (request ${requestId})`;
/** The request id an internal error's message carries (the HTTP onError logs under it). */
export const internalRequestId = (message: string) => INTERNAL_MESSAGE.exec(message)?.[1];

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 30_000 } },
  errorFormatter({ shape, error, ctx }) {
    const { stack: _stack, ...data } = shape.data;
    // The last line of defence: whatever reached here unmapped (a failed context, an error thrown
    // while a subscription streams) leaves with a request id and nothing of its internals.
    const message =
      error.code === 'INTERNAL_SERVER_ERROR' && !INTERNAL_MESSAGE.test(shape.message)
        ? internalMessage(ctx?.requestId ?? 'unknown')
        : shape.message;
    return {
      ...shape,
      message,
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

const databaseUnavailable = () =>
  new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'The database is unavailable; try again shortly' });

/**
 * Turns domain errors into tRPC codes with their readable message, and anything unexpected into
 * INTERNAL_SERVER_ERROR carrying only a request id (the details go to the log under that id).
 */
const errors = t.middleware(async ({ ctx, next }) => {
  if (ctx.databaseUnavailable) throw databaseUnavailable();
  const result = await next();
  if (result.ok) return result;
  const err = result.error;
  const cause = err.cause;
  // A restart or a dropped connection: 503, which clients (and the SSE link) retry.
  if (isConnectionError(cause)) throw databaseUnavailable();
  if (cause instanceof TooManyRequestsError) {
    if (cause.retryAfterS !== undefined) ctx.resHeaders?.set('retry-after', String(cause.retryAfterS));
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: cause.message });
  }
  if (cause instanceof QuotaExceededError || cause instanceof ForbiddenError)
    throw new TRPCError({ code: 'FORBIDDEN', message: cause.message });
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
  // A Mini's agent that could not be asked (model change, restart): the caller learns that, not
  // the agent's address or its error text, which go to the log (http.ts onError).
  if (cause instanceof FailureError)
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'The claw’s Mini could not be reached; try again shortly',
      cause,
    });
  // The caller gets a request id only; the cause rides along for the one place that logs it
  // (server/trpc/http.ts onError), and errorFormatter never puts a cause in a response.
  if (err.code === 'INTERNAL_SERVER_ERROR')
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: internalMessage(ctx.requestId), cause });
  return result;
});

/** The `host` of an Origin or Referer value, or null when it is absent, opaque ("null") or malformed. */
function hostOf(value: string | null): string | null {
  if (!value || value === 'null') return null;
  try {
    return new URL(value).host || null;
  } catch {
    return null;
  }
}

/**
 * Cross-site request forgery, for mutations:
 * 1. they must carry `x-claws-csrf: 1`. A cross-site page can only add a custom header through a
 *    CORS preflight, which Claws never answers, and a form post cannot add one at all;
 * 2. when the browser says where the request comes from (Origin, else Referer), that must be this
 *    host or one of CLAWS_ALLOWED_ORIGINS. An opaque origin ("null": sandboxed frames, data: URLs)
 *    is refused.
 * Queries and subscriptions only read, and SameSite=Lax keeps the cookie off cross-site subrequests.
 */
export function checkSameOrigin(headers: Headers, allowedOrigins: string[]): boolean {
  if (headers.get('x-claws-csrf') !== '1') return false;
  const origin = headers.get('origin');
  const referer = headers.get('referer');
  if (origin === null && referer === null) return true; // not a browser (scripts, server-side callers)
  if (origin === 'null') return false;
  const from = origin ?? referer;
  const fromHost = hostOf(from);
  if (!fromHost) return false;
  const host = headers.get('host');
  if (host && fromHost === host) return true;
  return allowedOrigins.some((o) => hostOf(o) === fromHost && (origin === null || o === origin));
}

const sameOrigin = t.middleware(async ({ ctx, next, type }) => {
  if (type !== 'mutation') return next();
  if (!checkSameOrigin(ctx.headers, ctx.runtime.config.allowedOrigins))
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Cross-site request refused' });
  return next();
});

export const publicProcedure = t.procedure.use(errors).use(sameOrigin);

/** Who acted, as events record it, and whose live connections a lease counts. */
export type Actor = `user:${string}` | `system:api-token:${string}`;
const principalOf = (ctx: Context) =>
  ctx.user ? `user:${ctx.user.id}` : ctx.apiToken ? `token:${ctx.apiToken.id}` : null;

/** Signed-in users only: an API token reaches its organization's claws and nothing else. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.apiToken && !ctx.user)
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: 'API tokens reach only their organization’s claws; this needs a signed-in user',
    });
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
  const actor: Actor = `user:${ctx.user.id}`;
  return next({ ctx: { ...ctx, user: ctx.user, actor, principal: principalOf(ctx)! } });
});

const orgNotFound = () => new TRPCError({ code: 'NOT_FOUND', message: 'Organization not found' });

/**
 * Procedures about one organization, for its members and its API tokens: non-members (and tokens
 * of other organizations) get NOT_FOUND, never a hint the org exists. `role` is the member's role
 * or the token's.
 */
export const orgProcedure = publicProcedure
  .input(z.object({ orgSlug: OrgSlug }))
  .use(async ({ ctx, input, next }) => {
    const db = ctx.runtime.database.db;
    if (ctx.apiToken && !ctx.user) {
      const org = await db
        .selectFrom('organizations')
        .selectAll()
        .where('id', '=', ctx.apiToken.orgId)
        .executeTakeFirst();
      if (!org || org.slug !== input.orgSlug) throw orgNotFound();
      const actor: Actor = `system:api-token:${ctx.apiToken.id}`;
      return next({
        ctx: {
          ...ctx,
          org,
          role: ctx.apiToken.role as Role,
          actor,
          principal: principalOf(ctx)!,
          userId: null,
        },
      });
    }
    if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
    const m = await requireMembership(db, ctx.user.id, input.orgSlug);
    if (!m) throw orgNotFound();
    const actor: Actor = `user:${ctx.user.id}`;
    return next({
      ctx: { ...ctx, org: m.org, role: m.role, actor, principal: principalOf(ctx)!, userId: ctx.user.id },
    });
  });

const ADMIN_ROLES: Role[] = ['owner', 'admin'];
const adminsOnly = () =>
  new TRPCError({ code: 'FORBIDDEN', message: 'Only owners and admins of the organization may do this' });
export const orgAdminProcedure = orgProcedure.use(({ ctx, next }) => {
  if (!ADMIN_ROLES.includes(ctx.role)) throw adminsOnly();
  return next();
});

/** An organization's people and tokens: signed-in members only (no token manages tokens or people). */
export const orgMemberProcedure = orgProcedure.use(({ ctx, next }) => {
  if (!ctx.user)
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: 'API tokens reach only their organization’s claws; this needs a signed-in user',
    });
  return next({ ctx: { ...ctx, user: ctx.user, userId: ctx.user.id } });
});
export const orgManagerProcedure = orgMemberProcedure.use(({ ctx, next }) => {
  if (!ADMIN_ROLES.includes(ctx.role)) throw adminsOnly();
  return next();
});

export const platformAdminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!ctx.user.is_platform_admin)
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Platform admins only' });
  return next();
});
