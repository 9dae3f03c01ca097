import http from 'node:http';
import type { ClawState } from '../../../events/claw';
import { silentLogger } from '../../../server/log';
import { generateDeviceIdentity } from '../../../server/gateway/device-identity';
import { openclawConnect } from '../../../server/gateway/openclaw-client';
import { createClawsUpgradeHandler } from '../../../server/gateway/upgrade';
import { PROXY_SCOPES } from '../../../server/gateway/verify-access';

/**
 * The Claws chat proxy alone in its own process, for the benchmark: the real upgrade handler and
 * session code; identity lookups answered at once (they happen once per connection, not per frame).
 */
const port = Number(process.argv[2]);
const gatewayPort = Number(process.argv[3]);
const token = process.env.BENCH_TOKEN ?? '';
const identity = generateDeviceIdentity();
const claw = { id: 'bench', slug: 'bench', status: 'active', miniPort: gatewayPort } as ClawState;
const handler = createClawsUpgradeHandler({
  allowedOrigins: [],
  authenticate: async () => ({ userId: 'bench' }),
  resolveClaw: async () => claw,
  connectUpstream: async () => ({
    token,
    connection: openclawConnect({
      url: `ws://127.0.0.1:${gatewayPort}`,
      token,
      identity,
      scopes: PROXY_SCOPES,
    }),
  }),
  log: silentLogger,
});
const server = http.createServer((_req, res) => res.writeHead(404).end());
server.on('upgrade', (req, socket, head) => {
  if (!handler.handleUpgrade(req, socket, head)) socket.destroy();
});
server.listen(port, '127.0.0.1', () => console.log('ready'));
