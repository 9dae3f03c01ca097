import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkBrowserFrame } from './allowlist';
import { browserCloseFor, CLOSE } from './close-codes';
import { redactHello } from './redact';

const labHello = path.resolve(
  import.meta.dirname,
  '../../../../shared/openclaw-lab/frames/hello-ok.full.json',
);

describe('proxy pieces', () => {
  it('strips credentials from hello-ok (a real gateway hello-ok when the lab capture is there)', () => {
    const captured = fs.existsSync(labHello)
      ? (JSON.parse(fs.readFileSync(labHello, 'utf8')) as { payload?: object })
      : null;
    const hello = {
      ...(captured?.payload ?? { type: 'hello-ok', protocol: 4 }),
      auth: {
        method: 'token',
        role: 'operator',
        scopes: ['operator.read'],
        deviceToken: 'dt-secret',
        recoveryScope: 'rs-secret',
        issuedAtMs: 1,
      },
      pluginSurfaceUrls: { canvas: 'http://127.0.0.1:1/__openclaw__/cap/secret' },
      echo: 'contains the-gateway-token inside',
    } as Record<string, unknown>;
    const out = JSON.stringify(redactHello(hello, 'the-gateway-token'));
    for (const secret of ['dt-secret', 'rs-secret', '__openclaw__/cap', 'the-gateway-token'])
      assert.ok(!out.includes(secret), secret);
    assert.match(out, /"scopes":\["operator.read"\]/);
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
    assert.equal(browserCloseFor(1012, 'service restart').code, CLOSE.UPSTREAM_UNAVAILABLE);
    assert.match(browserCloseFor(1013, '').reason, /retry-after-ms=/);
    for (const code of [1005, 1006, 1008, 1011, 4001]) {
      const mapped = browserCloseFor(code, 'x').code;
      assert.ok(mapped !== 1005 && mapped !== 1006);
    }
  });
});
