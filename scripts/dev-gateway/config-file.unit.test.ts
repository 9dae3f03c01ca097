import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gatewayFileSettings, readGatewayFileSettings } from './config-file';

describe('dev gateway config file', () => {
  it('takes the token, trusted proxies, allowed origins and env.vars where the real gateway reads them', () => {
    assert.deepEqual(
      gatewayFileSettings({
        gateway: {
          auth: { mode: 'token', token: 'tok-0123456789abcdef' },
          trustedProxies: ['127.0.0.1', 7],
          controlUi: { allowedOrigins: ['https://claws.example.com'] },
        },
        env: { vars: { SLACK_BOT_TOKEN: 'xoxb-1', NOT_A_STRING: 3 } },
      }),
      {
        token: 'tok-0123456789abcdef',
        trustedProxies: ['127.0.0.1'],
        allowedOrigins: ['https://claws.example.com'],
        envVars: { SLACK_BOT_TOKEN: 'xoxb-1' },
      },
    );
    for (const nothing of [undefined, null, [], 'x', { gateway: 'x' }, { gateway: { auth: { token: '' } } }])
      assert.deepEqual(gatewayFileSettings(nothing), { trustedProxies: [], allowedOrigins: [], envVars: {} });
  });

  it('reads OPENCLAW_CONFIG_PATH, else <state dir>/openclaw.json; no file is no settings', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-devgw-config-'));
    try {
      const file = path.join(dir, 'openclaw.json');
      fs.writeFileSync(file, JSON.stringify({ gateway: { auth: { token: 'from-file-0123456789' } } }));
      assert.equal(readGatewayFileSettings({ OPENCLAW_CONFIG_PATH: file }).token, 'from-file-0123456789');
      assert.equal(readGatewayFileSettings({ OPENCLAW_STATE_DIR: dir }).token, 'from-file-0123456789');
      assert.deepEqual(readGatewayFileSettings({ OPENCLAW_CONFIG_PATH: path.join(dir, 'none.json') }), {
        trustedProxies: [],
        allowedOrigins: [],
        envVars: {},
      });
      assert.deepEqual(readGatewayFileSettings({}), { trustedProxies: [], allowedOrigins: [], envVars: {} });
      fs.writeFileSync(file, '{ not json');
      assert.throws(() => readGatewayFileSettings({ OPENCLAW_CONFIG_PATH: file }), /is not JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
