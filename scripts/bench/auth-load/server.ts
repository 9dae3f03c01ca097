import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../../server/config';
import { hardenRequest } from '../../../server/http/security-headers';
import { silentLogger } from '../../../server/log';
import { createRuntime } from '../../../server/runtime';
import { handleTrpcRequest } from '../../../server/trpc/http';

/**
 * The tRPC endpoint as the custom server serves it (security headers, the client address stamped
 * from the socket or a trusted header, the same handler), without Next: what the auth load bench
 * puts its flood on. Prints `listening <port>` when ready; SIGTERM stops it.
 */
const cfg = loadConfig();
const runtime = await createRuntime(cfg);
const settings = { ...cfg, https: false };
const server = http.createServer((req, res) => {
  hardenRequest(req, res, settings);
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    void handleTrpcRequest(request, { runtime, log: silentLogger }).then(async (r) => {
      for (const [k, v] of r.headers) res.setHeader(k, v);
      res.writeHead(r.status);
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void runtime.close().then(() => process.exit(0)));
});
