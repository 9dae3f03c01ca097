import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { pairControlPlaneDevice } from './pairing';

const TOKEN = 'gateway-token-0123456789';
const ME = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

/** A gateway that speaks the handshake and answers pairing RPCs from a scripted table. */
let wss: WebSocketServer;
let port: number;
let methods: Record<
  string,
  (params: Record<string, unknown>) => { ok: boolean; payload?: unknown; error?: unknown }
>;
let calls: { method: string; params: Record<string, unknown>; scopes: unknown }[];

before(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  port = (wss.address() as AddressInfo).port;
  wss.on('connection', (ws) => {
    let scopes: unknown;
    ws.send(
      JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: 'n', ts: Date.now() } }),
    );
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as {
        id: string;
        method: string;
        params: Record<string, unknown>;
      };
      if (f.method === 'connect') {
        scopes = f.params.scopes;
        const ok = (f.params.auth as { token?: string }).token === TOKEN;
        ws.send(
          JSON.stringify(
            ok
              ? { type: 'res', id: f.id, ok: true, payload: { type: 'hello-ok', protocol: 4 } }
              : {
                  type: 'res',
                  id: f.id,
                  ok: false,
                  error: { code: 'INVALID_REQUEST', message: 'token mismatch' },
                },
          ),
        );
        if (!ok) ws.close(1008);
        return;
      }
      calls.push({ method: f.method, params: f.params, scopes });
      const handler = methods[f.method];
      const r = handler
        ? handler(f.params)
        : { ok: false, error: { code: 'INVALID_REQUEST', message: `unknown method: ${f.method}` } };
      ws.send(JSON.stringify({ type: 'res', id: f.id, ...r }));
    });
  });
});

after(async () => {
  for (const c of wss.clients) c.terminate();
  await new Promise((r) => wss.close(r));
});

beforeEach(() => {
  calls = [];
  methods = {};
});

const pair = (opts: { windowMs?: number; token?: string; port?: number } = {}) =>
  pairControlPlaneDevice({
    port: opts.port ?? port,
    token: opts.token ?? TOKEN,
    deviceId: ME,
    windowMs: opts.windowMs ?? 2000,
    intervalMs: 50,
    signal: new AbortController().signal,
  });

describe('pairing hook', () => {
  it("approves only the control plane device's pending requests, as admin + pairing", async () => {
    const pending = [
      { requestId: 'r-other', deviceId: OTHER },
      { requestId: 'r-me', deviceId: ME },
    ];
    const paired: { deviceId: string }[] = [];
    methods['device.pair.list'] = () => ({ ok: true, payload: { pending, paired } });
    methods['device.pair.approve'] = (p) => {
      paired.push({ deviceId: ME });
      return { ok: true, payload: { requestId: p.requestId } };
    };
    assert.deepEqual(await pair(), { paired: true, deviceId: ME });
    const approvals = calls.filter((c) => c.method === 'device.pair.approve');
    assert.deepEqual(
      approvals.map((c) => c.params),
      [{ requestId: 'r-me' }],
    );
    assert.deepEqual(calls[0]!.scopes, ['operator.admin', 'operator.pairing']);
  });

  it('reports an already paired device without approving anything', async () => {
    methods['device.pair.list'] = () => ({ ok: true, payload: { pending: [], paired: [{ deviceId: ME }] } });
    assert.deepEqual(await pair(), { paired: true, deviceId: ME });
    assert.equal(calls.filter((c) => c.method === 'device.pair.approve').length, 0);
  });

  it('polls until the request shows up', async () => {
    let n = 0;
    methods['device.pair.list'] = () => ({
      ok: true,
      payload: { pending: ++n >= 3 ? [{ requestId: 'r', deviceId: ME }] : [], paired: [] },
    });
    methods['device.pair.approve'] = () => ({ ok: true, payload: {} });
    assert.deepEqual(await pair(), { paired: true, deviceId: ME });
    assert.ok(n >= 3);
  });

  it('gives up after the window, not final, when no request comes', async () => {
    methods['device.pair.list'] = () => ({ ok: true, payload: { pending: [], paired: [] } });
    const r = await pair({ windowMs: 300 });
    assert.equal(r.paired, false);
    assert.ok(!r.paired && !r.final && /no pairing request/.test(r.reason));
  });

  it('reports paired:false with the reason when the gateway has no pairing RPC', async () => {
    const r = await pair();
    assert.equal(r.paired, false);
    assert.ok(!r.paired && r.final);
    assert.match(
      !r.paired ? r.reason : '',
      /refused pairing RPCs: INVALID_REQUEST unknown method: device.pair.list/,
    );
    assert.equal(calls.length, 1, 'no point asking again');
  });

  it('keeps the reason when the gateway cannot be reached', async () => {
    const r = await pair({ port: 1, windowMs: 200 });
    assert.ok(!r.paired && !r.final && /pairing check failed/.test(r.reason));
  });

  it('stops when aborted', async () => {
    methods['device.pair.list'] = () => ({ ok: true, payload: { pending: [], paired: [] } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const r = await pairControlPlaneDevice({
      port,
      token: TOKEN,
      deviceId: ME,
      windowMs: 10_000,
      intervalMs: 50,
      signal: ac.signal,
    });
    assert.equal(r.paired, false);
    assert.ok(Date.now() - t0 < 2000);
  });
});
