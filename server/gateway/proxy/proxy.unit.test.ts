import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { browserCloseFor, CLOSE } from './close-codes';
import { ALLOWED_METHODS, checkBrowserFrame } from './allowlist';
import { browserHello } from './browser-hello';
import { checkGatewayFrame, RELAYED_EVENTS } from './relay-filter';

const labHello = path.resolve(
  import.meta.dirname,
  '../../../../shared/openclaw-lab/frames/hello-ok.full.json',
);

describe('proxy pieces', () => {
  it('gives the browser an allowlisted hello-ok: no host, address, kernel, path or credential of the real one', () => {
    const captured = fs.existsSync(labHello)
      ? (JSON.parse(fs.readFileSync(labHello, 'utf8')) as { payload: Record<string, unknown> }).payload
      : null;
    const hello: Record<string, unknown> = {
      ...(captured ?? {
        type: 'hello-ok',
        protocol: 4,
        server: { version: '2026.9.6', buildId: 'b', bootId: 'boot', connId: 'conn' },
        features: { methods: ['chat.send', 'config.set'], events: ['chat', 'presence'] },
        snapshot: {
          presence: [{ host: 'vm', ip: '192.0.2.2', platform: 'linux 6.18.44-fc-v669' }],
          health: { sessions: { path: '/tmp/openclaw-lab/state/agents/main/agent/openclaw-agent.sqlite' } },
          sessionDefaults: { mainKey: 'main', mainSessionKey: 'agent:main:main' },
          appliedConfigHash: 'hmac-sha256:v1:x',
        },
        policy: { maxPayload: 26214400, tickIntervalMs: 30000, attachments: { maxBytes: 1 } },
      }),
      auth: {
        method: 'token',
        role: 'operator',
        scopes: ['operator.read', 'operator.write'],
        deviceToken: 'dt-secret',
        recoveryScope: 'rs-secret',
        issuedAtMs: 1,
      },
      pluginSurfaceUrls: { canvas: 'http://127.0.0.1:18789/__openclaw__/cap/secret' },
      echo: 'contains the-gateway-token inside',
    };
    const out = browserHello(hello, 'the-gateway-token');
    const text = JSON.stringify(out);
    for (const leak of [
      'dt-secret',
      'rs-secret',
      '__openclaw__/cap',
      'the-gateway-token',
      '"vm"',
      '192.0.2.2',
      '6.18.44',
      'openclaw-agent.sqlite',
      '/tmp/',
      'hmac-sha256',
      'bootId',
      'connId',
      'buildId',
      '127.0.0.1',
    ])
      assert.ok(!text.includes(leak), `${leak} reached the browser`);
    assert.deepEqual(Object.keys(out).sort(), [
      'auth',
      'features',
      'policy',
      'protocol',
      'server',
      'snapshot',
      'type',
    ]);
    assert.deepEqual(Object.keys(out.snapshot as object), ['sessionDefaults']);
    assert.deepEqual(out.auth, { role: 'operator', scopes: ['operator.read', 'operator.write'] });
    const features = out.features as { methods: string[]; events: string[] };
    assert.deepEqual(
      features.methods.filter((m) => !ALLOWED_METHODS.has(m)),
      [],
      'only relayable methods',
    );
    assert.ok(features.methods.includes('chat.send'));
    assert.deepEqual(
      features.events.filter((e) => !RELAYED_EVENTS.has(e)),
      [],
      'only relayed events',
    );
    assert.equal((out.server as { version: string }).version, '2026.9.6');
    assert.equal((out.policy as { maxPayload: number }).maxPayload, 26_214_400);
    assert.equal(
      (out.snapshot as { sessionDefaults: { mainSessionKey: string } }).sessionDefaults.mainSessionKey,
      'agent:main:main',
    );
  });

  it('relays responses and chat events, drops presence, health and the rest (frames of the real gateway)', () => {
    const lab = path.dirname(labHello);
    const recorded = fs.existsSync(lab)
      ? fs
          .readdirSync(lab)
          .filter((f) => f.endsWith('.log'))
          .flatMap((f) => fs.readFileSync(path.join(lab, f), 'utf8').split('\n'))
          .map((l) => /<< (\{.*\})$/.exec(l)?.[1])
          .filter((f): f is string => !!f && !f.includes('…'))
      : [];
    const frames = [
      ...recorded,
      '{"type":"event","event":"presence","payload":{"presence":[{"host":"vm","ip":"192.0.2.2"}]},"seq":3}',
      '{"type":"event","event":"health","payload":{"sessions":{"path":"/x/openclaw-agent.sqlite"}},"seq":1}',
      '{"type":"event","event":"chat","payload":{"state":"delta"},"seq":4}',
      '{"type":"res","id":"b1","ok":true,"payload":{"messages":[]}}',
      // Not the gateway's own key order: decided by a parse instead.
      '{"seq":5,"event":"presence","type":"event","payload":{}}',
      '{"id":"b2","type":"res","ok":true}',
      'not json',
      '{"type":"hello"}',
    ];
    for (const f of frames) {
      const parsed = (() => {
        try {
          return JSON.parse(f) as { type?: string; event?: string };
        } catch {
          return {};
        }
      })();
      const expected =
        parsed.type === 'res' || (parsed.type === 'event' && RELAYED_EVENTS.has(parsed.event ?? ''));
      assert.equal(checkGatewayFrame(f).relay, expected, f.slice(0, 120));
      assert.equal(checkGatewayFrame(Buffer.from(f)).relay, expected, 'the same from a Buffer');
    }
    for (const e of [
      'presence',
      'health',
      'device.pair.requested',
      'node.hostStats',
      'exec.approval.requested',
    ])
      assert.equal(checkGatewayFrame(`{"type":"event","event":"${e}","payload":{}}`).relay, false, e);
  });

  it('allows chat methods only', () => {
    assert.deepEqual(checkBrowserFrame('{"type":"req","id":"1","method":"chat.send","params":{}}'), {
      ok: true,
      method: 'chat.send',
    });
    const denied = checkBrowserFrame('{"type":"req","id":"2","method":"device.pair.approve"}');
    assert.equal(denied.ok, false);
    assert.equal(!denied.ok && denied.error.code, 'FORBIDDEN');
    assert.equal(!denied.ok && denied.id, '2');
    const junk = checkBrowserFrame('not json');
    assert.equal(!junk.ok && junk.error.code, 'INVALID_REQUEST');
    assert.equal(checkBrowserFrame('{"type":"event","id":"3"}').ok, false);
  });

  it('maps upstream closes to codes that mean something, never 1005/1006', () => {
    assert.equal(browserCloseFor(1012).code, CLOSE.UPSTREAM_UNAVAILABLE);
    assert.match(browserCloseFor(1013).reason, /retry-after-ms=/);
    for (const code of [1005, 1006, 1008, 1011, 4001]) {
      const mapped = browserCloseFor(code).code;
      assert.ok(mapped !== 1005 && mapped !== 1006);
    }
  });
});
