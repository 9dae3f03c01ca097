import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseAgentConfig } from './config';
import {
  downstreamResponseHeaders,
  isTrustedForwarder,
  requestHost,
  upstreamRequestHeaders,
} from './edge-headers';
import { cloudflaredConfig, runTunnelConfig } from './tunnel-config';

/** Raw header pairs → lowercase name → values, for assertions. */
const byName = (raw: string[]) => {
  const m = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    m.set(k, [...(m.get(k) ?? []), raw[i + 1]!]);
  }
  return m;
};

const wsHandshake = [
  'Host',
  'claw-1.mini-1.claws.test',
  'Connection',
  'Upgrade',
  'Upgrade',
  'websocket',
  'Sec-WebSocket-Key',
  'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version',
  '13',
];

describe('edge: what the gateway is told about the client', () => {
  it('keeps what a trusted forwarder (cloudflared) added, and appends the hop it came from', () => {
    const h = byName(
      upstreamRequestHeaders(
        [
          ...wsHandshake,
          'X-Forwarded-For',
          '10.77.0.2',
          'Cf-Connecting-Ip',
          '10.77.0.2',
          'Cf-Ray',
          '8f1e-TEST',
          'X-Forwarded-Proto',
          'https',
        ],
        '::ffff:127.0.0.1',
        { trusted: true, upgrade: true },
      ),
    );
    assert.deepEqual(h.get('x-forwarded-for'), ['10.77.0.2, 127.0.0.1']);
    assert.deepEqual(h.get('cf-connecting-ip'), ['10.77.0.2']);
    assert.deepEqual(h.get('cf-ray'), ['8f1e-TEST']);
    assert.deepEqual(h.get('x-forwarded-proto'), ['https']);
    // The WebSocket handshake goes through whole, Host included.
    assert.deepEqual(h.get('upgrade'), ['websocket']);
    assert.deepEqual(h.get('connection'), ['Upgrade']);
    assert.deepEqual(h.get('sec-websocket-key'), ['dGhlIHNhbXBsZSBub25jZQ==']);
    assert.deepEqual(h.get('host'), ['claw-1.mini-1.claws.test']);
  });

  it('names the client from Cf-Connecting-Ip when a trusted forwarder sent no X-Forwarded-For', () => {
    const h = byName(
      upstreamRequestHeaders([...wsHandshake, 'CF-Connecting-IP', '198.51.100.9'], '127.0.0.1', {
        trusted: true,
        upgrade: true,
      }),
    );
    assert.deepEqual(h.get('x-forwarded-for'), ['198.51.100.9, 127.0.0.1']);
  });

  it('from anyone else, drops every claim about the client and names the peer itself', () => {
    const h = byName(
      upstreamRequestHeaders(
        [
          ...wsHandshake,
          'X-Forwarded-For',
          '127.0.0.1',
          'X-Real-IP',
          '127.0.0.1',
          'Forwarded',
          'for=127.0.0.1',
          'Cf-Connecting-Ip',
          '1.1.1.1',
          'True-Client-IP',
          '1.1.1.1',
          'X-Forwarded-Host',
          'evil',
        ],
        '10.77.0.2',
        { trusted: false, upgrade: true },
      ),
    );
    assert.deepEqual(h.get('x-forwarded-for'), ['10.77.0.2']);
    for (const gone of ['x-real-ip', 'forwarded', 'cf-connecting-ip', 'true-client-ip', 'x-forwarded-host'])
      assert.equal(h.get(gone), undefined, gone);
  });

  it('passes no hop-by-hop header on a plain request, and none back', () => {
    const h = byName(
      upstreamRequestHeaders(
        [
          'Host',
          'x',
          'Connection',
          'keep-alive, X-Secret',
          'Keep-Alive',
          '5',
          'Upgrade',
          'h2c',
          'TE',
          'trailers',
        ],
        '10.0.0.1',
        { trusted: false, upgrade: false },
      ),
    );
    for (const gone of ['connection', 'keep-alive', 'upgrade', 'te'])
      assert.equal(h.get(gone), undefined, gone);
    assert.deepEqual(
      downstreamResponseHeaders([
        'Content-Type',
        'text/html',
        'Transfer-Encoding',
        'chunked',
        'Connection',
        'close',
      ]),
      ['Content-Type', 'text/html'],
    );
  });

  it('trusts forwarders by address, IPv4-mapped or not', () => {
    assert.equal(isTrustedForwarder('::ffff:127.0.0.1', ['127.0.0.1', '::1']), true);
    assert.equal(isTrustedForwarder('::1', ['127.0.0.1', '::1']), true);
    assert.equal(isTrustedForwarder('10.77.1.1', ['127.0.0.1', '::1']), false);
  });

  it('reads the claw a request names from its Host', () => {
    assert.equal(requestHost('Claw-1.Mini-1.claws.test:443'), 'claw-1.mini-1.claws.test');
    assert.equal(requestHost('claw-1.mini-1.claws.test.'), 'claw-1.mini-1.claws.test');
    assert.equal(requestHost('[::1]:8080'), '[::1]');
    assert.equal(requestHost(undefined), undefined);
    assert.equal(requestHost('bad host'), undefined);
  });
});

describe('edge: configuration and the tunnel', () => {
  const token = { MINI_AGENT_TOKEN: 'x'.repeat(20) };

  it('makes the edge the gateways’ one trusted proxy', () => {
    const c = parseAgentConfig(['--edge-port', '8080', '--tunnel-suffix', 'mini-1.claws.test'], token);
    assert.deepEqual(c.edge, {
      host: '127.0.0.1',
      port: 8080,
      trustedForwarders: ['127.0.0.1', '::1'],
      tls: undefined,
    });
    assert.deepEqual(c.trustedProxies, ['127.0.0.1']);
    assert.equal(c.tunnelSuffix, 'mini-1.claws.test');
    assert.throws(
      () =>
        parseAgentConfig(
          ['--edge-port', '8080', '--tunnel-suffix', 's.test', '--trusted-proxies', '127.0.0.1,10.0.0.1'],
          token,
        ),
      /gateways trust only the edge/,
    );
    assert.throws(() => parseAgentConfig(['--edge-port', '8080'], token), /needs --tunnel-suffix/);
    assert.throws(
      () =>
        parseAgentConfig(['--edge-port', '8080', '--tunnel-suffix', 's.test', '--edge-cert', 'c.pem'], token),
      /go together/,
    );
    assert.throws(
      () => parseAgentConfig(['--edge-port', '7070', '--tunnel-suffix', 's.test', '--port', '7070'], token),
      /port of its own/,
    );
    assert.equal(parseAgentConfig([], token).edge, undefined);
    assert.throws(() => parseAgentConfig(['serve-ish'], token), ConfigError);
  });

  it('writes a cloudflared config with one wildcard rule to the edge and a 404 for the rest', () => {
    const text = cloudflaredConfig({
      tunnelSuffix: 'mini-1.claws.example.com',
      edgeUrl: 'http://127.0.0.1:8080',
      tunnelId: '6ff42ae2-765d-4adf-8112-31c55c1551ef',
      credentialsFile: '/etc/cloudflared/mini-1.json',
    });
    const ingress = text.slice(text.indexOf('ingress:'));
    assert.equal(ingress.match(/- /g)?.length, 2, 'exactly two rules');
    assert.match(
      ingress,
      /- hostname: "\*\.mini-1\.claws\.example\.com"\n {4}service: "http:\/\/127\.0\.0\.1:8080"\n/,
    );
    assert.match(ingress, /- service: http_status:404\n$/);
    assert.match(text, /^tunnel: "6ff42ae2-765d-4adf-8112-31c55c1551ef"$/m);
    assert.match(text, /^credentials-file: "\/etc\/cloudflared\/mini-1\.json"$/m);
    // Nothing names a claw: adding one never changes the file.
    assert.doesNotMatch(text, /claw-/);
  });

  it('is the `tunnel-config` command of the agent, which needs the suffix and a plain edge', () => {
    const out: string[] = [];
    const c = parseAgentConfig(
      ['tunnel-config', '--edge-port', '8080', '--tunnel-suffix', 'mini-1.claws.test', '--tunnel-id', 'abc'],
      {},
    );
    assert.equal(c.command, 'tunnel-config');
    runTunnelConfig(c, (t) => out.push(t));
    assert.match(out.join(''), /service: "http:\/\/127\.0\.0\.1:8080"/);
    assert.throws(
      () => parseAgentConfig(['tunnel-config', '--tunnel-suffix', 'x.test'], {}),
      /needs --edge-port/,
    );
    const tlsEdge = parseAgentConfig(
      [
        'tunnel-config',
        '--edge-port',
        '8443',
        '--tunnel-suffix',
        'x.test',
        '--edge-cert',
        'c.pem',
        '--edge-key',
        'k.pem',
      ],
      {},
    );
    assert.throws(() => runTunnelConfig(tlsEdge, () => {}), /plain HTTP to cloudflared/);
  });
});
