import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { ClawState } from '../../../events/claw';
import { createTestDatabase, type TestDatabase } from '../../../tests/fixtures/db';
import { testRuntime } from '../../../tests/fixtures/fleet';
import { startGateway, type GatewayProcess } from '../../../tests/fixtures/gateways';
import { callerFor, joinOrg, newUser } from '../../../tests/fixtures/trpc';
import { createContextInner } from '../../trpc/context';
import { createCallerFactory } from '../../trpc/init';
import { appRouter } from '../../trpc/routers/_app';
import { createSession, SESSION_COOKIE, type SessionUser } from '../../auth/session';
import { silentLogger } from '../../log';
import { requireMembership } from '../../orgs/memberships';
import type { Runtime } from '../../runtime';
import { generateDeviceIdentity } from '../device-identity';
import { openclawConnect } from '../openclaw-client';
import { createClawsUpgradeHandler, runtimeProxyDeps, type ProxyDeps } from '../upgrade';
import { PROXY_SCOPES } from '../verify-access';
import { CLOSE } from './close-codes';

/**
 * The real proxy with the runtime's own identity checks (session cookies, memberships, chat
 * leases, the access watch) against the dev gateway: a removed member's open chat closes at once,
 * logout closes that session's chats, sockets per user are capped, and the gateway is dialled only
 * once the browser has sent its connect request.
 */
const TOKEN = 'access-test-gateway-token-5d1c8e2a9f';
const ORIGIN = 'http://claws.test';

describe('chat proxy access against the dev gateway', () => {
  let database: TestDatabase;
  let rt: Runtime;
  let gateway: GatewayProcess;
  let server: http.Server;
  let port: number;
  let dials = 0;
  let lead: SessionUser;
  let colleague: SessionUser;
  let orgSlug: string;

  before(async () => {
    database = await createTestDatabase('pglite');
    rt = testRuntime(database, undefined, {
      QUOTA_CHAT_SOCKETS_PER_USER: '2',
      CHAT_FIRST_FRAME_TIMEOUT_MS: '1500',
    });
    gateway = await startGateway('dev', { token: TOKEN });
    lead = await newUser(rt, 'lead');
    colleague = await newUser(rt, 'colleague');
    orgSlug = (await (await callerFor(rt, lead)).orgs.create({ name: 'Chat Team' })).slug;
    await joinOrg(rt, orgSlug, colleague, 'member');
    const identity = generateDeviceIdentity();
    const real = runtimeProxyDeps(rt);
    const deps: ProxyDeps = {
      ...real,
      allowedOrigins: [ORIGIN],
      // A claw of the org on the dev gateway (placement and secrets are tested elsewhere).
      async resolveClaw(userId, org, clawSlug) {
        const m = await requireMembership(rt.database.db, userId, org);
        if (!m || clawSlug !== 'chat') return null;
        return {
          id: 'claw-chat',
          orgId: m.org.id,
          slug: 'chat',
          status: 'active',
          miniPort: gateway.port,
        } as ClawState;
      },
      async connectUpstream(c) {
        dials++;
        return {
          token: TOKEN,
          connection: openclawConnect({
            url: `ws://127.0.0.1:${c.miniPort}`,
            token: TOKEN,
            identity,
            scopes: PROXY_SCOPES,
            timeoutMs: 20_000,
          }),
        };
      },
      log: silentLogger,
    };
    const handler = createClawsUpgradeHandler(deps);
    server = http.createServer((_q, r) => r.writeHead(404).end());
    server.on('upgrade', (req, socket, head) => {
      if (!handler.handleUpgrade(req, socket, head)) socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server?.closeAllConnections();
    server?.close();
    await gateway?.stop();
    await rt?.close();
    await database?.close();
  });

  const cookieFor = async (u: SessionUser) => {
    const { token, session } = await createSession(database.db, u.id);
    return { cookie: `${SESSION_COOKIE}=${token}`, session };
  };

  function open(cookie: string) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/ws/claws/${orgSlug}/chat`, {
      headers: { cookie },
      origin: ORIGIN,
    });
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    ws.on('error', () => {});
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    const frame = (pred: (f: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const t = setInterval(() => {
          const f = frames.find(pred);
          if (f) {
            clearInterval(t);
            resolve(f);
          }
        }, 10);
        void closed.then((c) => {
          clearInterval(t);
          if (!frames.find(pred)) reject(new Error(`closed ${c.code} ${c.reason}`));
        });
      });
    const connect = async () => {
      await frame((f) => f.event === 'connect.challenge');
      ws.send(
        JSON.stringify({
          type: 'req',
          id: 'c1',
          method: 'connect',
          params: {
            minProtocol: 4,
            maxProtocol: 4,
            client: { id: 'webchat-ui', version: 't', platform: 'web', mode: 'webchat' },
            role: 'operator',
            scopes: PROXY_SCOPES,
          },
        }),
      );
      return frame((f) => f.id === 'c1');
    };
    return { ws, closed, frame, connect };
  }

  it('dials the gateway only after the connect request; a silent socket is closed', async () => {
    const { cookie } = await cookieFor(colleague);
    const before = dials;
    const silent = open(cookie);
    await silent.frame((f) => f.event === 'connect.challenge');
    assert.equal(dials, before, 'nothing dialled for a socket that has not spoken');
    const closed = await silent.closed;
    assert.equal(closed.code, CLOSE.PROTOCOL_ERROR);
    assert.match(closed.reason, /no connect request/);
    assert.equal(dials, before);
    const b = open(cookie);
    assert.equal((await b.connect()).ok, true);
    assert.equal(dials, before + 1);
    b.ws.close();
    await b.closed;
  });

  it('caps chat sockets per user (4429), and a closed one frees its seat', async () => {
    const { cookie } = await cookieFor(colleague);
    const a = open(cookie);
    await a.connect();
    const b = open(cookie);
    await b.connect();
    const c = open(cookie);
    const refused = await c.closed;
    assert.equal(refused.code, CLOSE.TOO_MANY);
    assert.match(refused.reason, /Too many chat connections/);
    a.ws.close();
    await a.closed;
    await new Promise((r) => setTimeout(r, 100));
    const d = open(cookie);
    assert.equal((await d.connect()).ok, true);
    b.ws.close();
    d.ws.close();
    await Promise.all([b.closed, d.closed]);
  });

  it('a member removed from the organization loses their open chat at once (4403)', async () => {
    const { cookie } = await cookieFor(colleague);
    const chat = open(cookie);
    assert.equal((await chat.connect()).ok, true);
    await (await callerFor(rt, lead)).orgs.removeMember({ orgSlug, userId: colleague.id });
    const closed = await chat.closed;
    assert.deepEqual(closed, { code: CLOSE.FORBIDDEN, reason: 'removed from the organization' });
    const again = await open(cookie).closed;
    assert.equal(again.code, CLOSE.NOT_FOUND, 'and cannot open another');
    await joinOrg(rt, orgSlug, colleague, 'member');
  });

  it('logout closes the chats of that session only (4401)', async () => {
    const one = await cookieFor(colleague);
    const two = await cookieFor(colleague);
    const a = open(one.cookie);
    await a.connect();
    const b = open(two.cookie);
    await b.connect();
    const ctx = await createContextInner({
      runtime: rt,
      user: colleague,
      session: one.session,
      headers: new Headers({ 'x-claws-csrf': '1' }),
    });
    await createCallerFactory(appRouter)(ctx).auth.logout();
    assert.deepEqual(await a.closed, { code: CLOSE.UNAUTHENTICATED, reason: 'session ended' });
    assert.equal(b.ws.readyState, WebSocket.OPEN, 'the other session’s chat stays');
    b.ws.close();
    await b.closed;
  });
});
