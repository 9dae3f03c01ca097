import assert from 'node:assert/strict';
import dns from 'node:dns';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { FailureError } from '../failure';
import { upstreamTarget } from './upstream-url';

const claw = { tunnelHostname: 'claw-1.mini-3.claws.example.com', miniPort: 20001 };

describe('upstreamTarget', () => {
  it('tunnel: the claw hostname itself, through the system roots (plus a configured CA)', () => {
    const t = upstreamTarget(claw, null, { mode: 'tunnel' });
    assert.equal(t.url, 'wss://claw-1.mini-3.claws.example.com');
    // The hostname is TLS name and Host: nothing overrides either, and verification stays on.
    assert.deepEqual(t.options, {});
    const withCa = upstreamTarget(claw, null, { mode: 'tunnel', ca: 'PEM' });
    assert.equal(withCa.options.ca?.at(-1), 'PEM');
    assert.equal(withCa.options.ca?.length, tls.rootCertificates.length + 1);
  });

  it('tunnel: a fixed address for every claw name, when the test network has no DNS for them', async () => {
    const t = upstreamTarget(claw, null, { mode: 'tunnel', tunnelConnectTo: '10.77.0.1' });
    const lookup = t.options.lookup!;
    const one = await new Promise((resolve) =>
      lookup('claw-9.x.test', {}, (_err: unknown, address: unknown, family: unknown) =>
        resolve([address, family]),
      ),
    );
    assert.deepEqual(one, ['10.77.0.1', 4]);
    const all = await new Promise((resolve) =>
      lookup('claw-9.x.test', { all: true } as dns.LookupOptions, (_err: unknown, addresses: unknown) =>
        resolve(addresses),
      ),
    );
    assert.deepEqual(all, [{ address: '10.77.0.1', family: 4 }]);
  });

  it("direct: the Mini's edge, with the claw's hostname as TLS name and Host", () => {
    const t = upstreamTarget(claw, { agentUrl: 'https://10.0.0.5:7443', edgePort: 8443 }, { mode: 'direct' });
    assert.equal(t.url, 'wss://10.0.0.5:8443');
    assert.equal(t.options.servername, claw.tunnelHostname);
    assert.deepEqual(t.options.headers, { host: claw.tunnelHostname });
    const v6 = upstreamTarget(
      claw,
      { agentUrl: 'https://[fd00::5]:7443', edgePort: 8443 },
      { mode: 'direct' },
    );
    assert.equal(v6.url, 'wss://[fd00::5]:8443');
  });

  it("direct: the edge's certificate must name the Mini (it is the Mini's), not the claw", () => {
    const t = upstreamTarget(
      claw,
      { agentUrl: 'https://mini-3.lan:7443', edgePort: 8443 },
      { mode: 'direct' },
    );
    const check = t.options.checkServerIdentity!;
    const cert = (names: string) => ({ subject: { CN: '' }, subjectaltname: names }) as tls.PeerCertificate;
    assert.equal(check(claw.tunnelHostname, cert('DNS:mini-3.lan')), undefined);
    assert.ok(check(claw.tunnelHostname, cert('DNS:mini-4.lan')) instanceof Error);
    assert.ok(check(claw.tunnelHostname, cert(`DNS:${claw.tunnelHostname}`)) instanceof Error);
  });

  it("direct with a pinned certificate: the pin decides, not a CA or the certificate's names", () => {
    const t = upstreamTarget(
      claw,
      {
        agentUrl: 'https://mini-3.lan:7443',
        edgePort: 8443,
        agentCertFingerprint: `sha256:${'ab'.repeat(32)}`,
      },
      { mode: 'direct', ca: 'PEM' },
    );
    assert.equal(typeof t.options.createConnection, 'function');
    assert.equal(t.options.ca, undefined);
    assert.equal(t.options.checkServerIdentity, undefined);
    assert.equal(t.options.servername, claw.tunnelHostname);
  });

  it('direct without an edge: the loopback port on this machine, and a clear refusal anywhere else', () => {
    assert.equal(
      upstreamTarget(claw, { agentUrl: 'http://127.0.0.1:7070', edgePort: null }, { mode: 'direct' }).url,
      'ws://127.0.0.1:20001',
    );
    assert.throws(
      () => upstreamTarget(claw, { agentUrl: 'http://mini-3.lan:7070' }, { mode: 'direct' }),
      (err: unknown) =>
        err instanceof FailureError && err.kind === 'permanent' && /has no edge/.test(err.message),
    );
    assert.throws(() => upstreamTarget({ tunnelHostname: null, miniPort: 1 }, null, { mode: 'tunnel' }));
  });
});
