import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { isConnectionError } from '../../db/errors';
import type { ClawState } from '../../events/claw';
import type { MiniState } from '../../events/mini';
import { liveClawBySlug } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import { accessWatchFor, type AccessEnded, type LiveAccess } from '../access/watch';
import { authenticateCookieHeader, sessionPolicy } from '../auth/session';
import { TooManyRequestsError } from '../limits/errors';
import { leaseBookFor } from '../limits/leases';
import { createLogger, type Logger } from '../log';
import { requireMembership } from '../orgs/memberships';
import type { Runtime } from '../runtime';
import { gatewayTokenSecret } from '../secrets/secret-store';
import type { Connected } from './openclaw-client';
import { CLOSE } from './proxy/close-codes';
import { DEFAULT_LIMITS, runProxySession, type ProxyLimits } from './proxy/session';
import { upstreamSettings } from './upstream-url';
import { connectAsControlPlane, grantProblem } from './verify-access';

const PATH = /^\/api\/ws\/claws\/([a-z0-9-]{1,63})\/([a-z0-9-]{1,63})\/?$/;
/** The gateway's own frame limit (policy.maxPayload); larger browser frames are closed with 1009. */
export const MAX_BROWSER_FRAME = 26_214_400;

/** Everything the proxy needs to decide and connect; the runtime provides it, tests may replace parts. */
export interface ProxyDeps {
  allowedOrigins: string[];
  /** Session cookies only: chat is the dashboard's, and a browser cannot put a token on a WebSocket. */
  authenticate(cookie: string | undefined): Promise<{ userId: string; sessionId?: string } | null>;
  resolveClaw(userId: string, orgSlug: string, clawSlug: string): Promise<ClawState | null>;
  connectUpstream(claw: ClawState): Promise<{ token: string; connection: Promise<Connected> }>;
  /**
   * A chat lease for the user (QUOTA_CHAT_SOCKETS_PER_USER across instances): its release, or
   * TooManyRequestsError. Absent: no cap.
   */
  acquireChatLease?(userId: string): Promise<() => Promise<void>>;
  /** Registers a live socket with the access watch (logout, revocation, removal close it). */
  watch?(access: LiveAccess): () => void;
  /** Chatting is activity: restarts the session's idle timer (at most once a minute per socket). */
  touchSession?(sessionId: string): Promise<void>;
  log: Logger;
  limits?: ProxyLimits;
}

/** How the end of access reads to the browser (app/_lib/claw-chat.ts puts these in words). */
const ENDED: Record<AccessEnded, { code: number; reason: string }> = {
  session: { code: CLOSE.UNAUTHENTICATED, reason: 'session ended' },
  membership: { code: CLOSE.FORBIDDEN, reason: 'removed from the organization' },
  token: { code: CLOSE.UNAUTHENTICATED, reason: 'token revoked' },
};

export function runtimeProxyDeps(runtime: Runtime): ProxyDeps {
  const db = runtime.database.db;
  const cfg = runtime.config;
  const upstream = upstreamSettings(cfg);
  const own = [
    `http://${cfg.HOST}:${cfg.PORT}`,
    `http://localhost:${cfg.PORT}`,
    `http://127.0.0.1:${cfg.PORT}`,
  ];
  return {
    allowedOrigins: cfg.allowedOrigins.length ? cfg.allowedOrigins : own,
    async authenticate(cookie) {
      const auth = await authenticateCookieHeader(db, cookie, sessionPolicy(cfg));
      return auth ? { userId: auth.user.id, sessionId: auth.session.id } : null;
    },
    async acquireChatLease(userId) {
      const book = leaseBookFor(db);
      const id = await book.acquire(`user:${userId}`, 'chat', cfg.QUOTA_CHAT_SOCKETS_PER_USER);
      return () => book.release(id);
    },
    watch: (access) => accessWatchFor(runtime.database, sessionPolicy(cfg)).register(access),
    async touchSession(sessionId) {
      await db
        .updateTable('sessions')
        .set({ last_seen_at: new Date() })
        .where('id', '=', sessionId)
        .where('revoked_at', 'is', null)
        .execute();
    },
    limits: { ...DEFAULT_LIMITS, firstFrameMs: cfg.CHAT_FIRST_FRAME_TIMEOUT_MS },
    async resolveClaw(userId, orgSlug, clawSlug) {
      const m = await requireMembership(db, userId, orgSlug);
      if (!m) return null;
      return liveClawBySlug(db, m.org.id, clawSlug);
    },
    async connectUpstream(claw) {
      const token = await runtime.secrets.get(gatewayTokenSecret(claw.id));
      if (!token) throw new Error('claw has no gateway token');
      const mini: MiniState | null = claw.miniId
        ? await runtime.store.load(minisProjection, claw.miniId)
        : null;
      const connection = connectAsControlPlane({
        secrets: runtime.secrets,
        claw,
        mini,
        upstream,
        token,
        timeoutMs: 10_000,
      }).then((c) => {
        const problem = grantProblem(c.hello);
        if (problem) {
          c.ws.close(1000);
          throw new Error(problem.reason);
        }
        return c;
      });
      return { token, connection };
    },
    log: createLogger(cfg.LOG_LEVEL, { component: 'ws-proxy' }),
  };
}

/**
 * The chat proxy's upgrade handler for /api/ws/claws/:orgSlug/:clawSlug. A foreign Origin is refused
 * before the upgrade (403); every other refusal happens after it, with a close code the browser
 * can read (an HTTP refusal reaches browser code only as 1006).
 */
export function createClawsUpgradeHandler(source: Runtime | ProxyDeps) {
  const deps = 'config' in source ? runtimeProxyDeps(source) : source;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_BROWSER_FRAME,
  });
  const sockets = new Set<WebSocket>();

  function refuseHttp(socket: Duplex, status: number, text: string) {
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${text.length}\r\n\r\n${text}`,
    );
  }

  function accept(req: http.IncomingMessage, socket: Duplex, head: Buffer, then: (ws: WebSocket) => void) {
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      then(ws);
    });
  }

  async function handle(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    orgSlug: string,
    clawSlug: string,
  ) {
    const origin = req.headers.origin;
    if (origin !== undefined && !deps.allowedOrigins.includes(origin))
      return refuseHttp(socket, 403, 'Forbidden');
    const closeWith = (code: number, reason: string) =>
      accept(req, socket, head, (ws) => ws.close(code, reason));
    const auth = await deps.authenticate(req.headers.cookie);
    if (!auth) return closeWith(CLOSE.UNAUTHENTICATED, 'sign in first');
    const claw = await deps.resolveClaw(auth.userId, orgSlug, clawSlug);
    if (!claw) return closeWith(CLOSE.NOT_FOUND, 'claw not found');
    if (claw.status !== 'active') return closeWith(CLOSE.NOT_ACTIVE, `claw is ${claw.status}`);
    let release: (() => Promise<void>) | undefined;
    try {
      release = await deps.acquireChatLease?.(auth.userId);
    } catch (err) {
      if (err instanceof TooManyRequestsError) return closeWith(CLOSE.TOO_MANY, err.message.slice(0, 120));
      throw err;
    }
    let accepted = false;
    // A socket that goes away before the upgrade completes never reaches the session's onClose.
    socket.once('close', () => {
      if (!accepted) void release?.();
    });
    accept(req, socket, head, (ws) => {
      accepted = true;
      let touchedAt = Date.now();
      // Logout, a revoked session or removal from the organization ends this socket at once.
      const unwatch = deps.watch?.({
        userId: auth.userId,
        sessionId: auth.sessionId,
        orgId: claw.orgId,
        end: (why) => session.close(ENDED[why].code, ENDED[why].reason),
      });
      const session = runProxySession({
        browser: ws,
        // Dialled only when the browser's connect request arrives (runProxySession).
        dial: async () => {
          const up = await deps.connectUpstream(claw);
          up.connection.catch(() => {}); // reported to the browser by the session
          return up;
        },
        log: deps.log.child({ clawId: claw.id }),
        limits: deps.limits ?? DEFAULT_LIMITS,
        onClose: () => {
          unwatch?.();
          void release?.();
        },
        onActivity: () => {
          if (!auth.sessionId || !deps.touchSession || Date.now() - touchedAt < 60_000) return;
          touchedAt = Date.now();
          void deps.touchSession(auth.sessionId).catch(() => {});
        },
      });
    });
  }

  return {
    /** Handles the upgrade if the path is the chat proxy's; returns false otherwise. */
    handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
      const m = PATH.exec((req.url ?? '').split('?')[0]!);
      if (!m) return false;
      handle(req, socket, head, m[1]!, m[2]!).catch((err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        // The database being away (a restart) is an outage to wait out, not a bug: the browser
        // reconnects after the hint, and chats already open are not affected.
        const outage = isConnectionError(err);
        if (outage) deps.log.warn('chat upgrade: database unavailable', { error });
        else deps.log.error('chat upgrade failed', { error });
        if (!socket.destroyed)
          accept(req, socket, head, (ws) =>
            ws.close(
              CLOSE.UPSTREAM_UNAVAILABLE,
              outage ? 'database unavailable; retry-after-ms=2000' : 'internal error; retry-after-ms=5000',
            ),
          );
      });
      return true;
    },
    /** Closes every proxied socket (graceful shutdown: 1001). */
    async closeAll(code: number = CLOSE.GOING_AWAY, reason = 'server restarting') {
      for (const ws of sockets) ws.close(code, reason);
      const deadline = Date.now() + 2000;
      while (sockets.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const ws of sockets) ws.terminate();
    },
    size: () => sockets.size,
  };
}
export type ClawsUpgradeHandler = ReturnType<typeof createClawsUpgradeHandler>;
