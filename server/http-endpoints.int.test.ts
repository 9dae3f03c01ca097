import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../tests/fixtures/db';
import { createOpsEndpoints, type OpsEndpointDeps } from './http-endpoints';
import { metrics } from './metrics';

const TOKEN = 'metrics-token-0123456789abcdef';

for (const driver of testDrivers()) {
  describe(`ops endpoints on ${driver}`, () => {
    let database: TestDatabase;
    let shuttingDown = false;
    const servers: http.Server[] = [];

    before(async () => {
      database = await createTestDatabase(driver);
    });
    after(async () => {
      for (const s of servers) s.close();
      await database?.close();
    });

    async function serve(extra: Partial<OpsEndpointDeps> = {}) {
      const ops = createOpsEndpoints({
        db: database.db,
        registry: metrics().registry,
        isShuttingDown: () => shuttingDown,
        ...extra,
      });
      const server = http.createServer((req, res) => {
        if (!ops(req, res)) res.writeHead(404).end();
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
    }

    it('answers /healthz always and /readyz 200 with a database, 503 once shutdown began', async () => {
      const get = await serve();
      assert.equal((await get('/healthz')).status, 200);
      const ready = await get('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { ready: true });
      shuttingDown = true;
      try {
        const res = await get('/readyz');
        assert.equal(res.status, 503);
        assert.deepEqual(await res.json(), { ready: false, reason: 'shutting down' });
      } finally {
        shuttingDown = false;
      }
      assert.equal((await get('/other')).status, 404);
    });

    it('serves /metrics to loopback clients only when no token is set, and never what a proxy forwarded', async () => {
      const get = await serve();
      const res = await get('/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      assert.match(text, /^# HELP claws_live_feeds_held_back_seconds /m);
      assert.match(text, /^process_cpu_user_seconds_total /m);
      assert.equal((await get('/metrics', { 'x-forwarded-for': '203.0.113.7' })).status, 403);
      assert.equal((await get('/metrics', { forwarded: 'for=203.0.113.7' })).status, 403);
    });

    it('asks for the bearer token when METRICS_TOKEN is set, from anywhere', async () => {
      const get = await serve({ metricsToken: TOKEN });
      const none = await get('/metrics');
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer');
      assert.equal((await get('/metrics', { authorization: `Bearer ${TOKEN}x` })).status, 401);
      assert.equal((await get('/metrics', { authorization: `Basic ${TOKEN}` })).status, 401);
      const ok = await get('/metrics', {
        authorization: `Bearer ${TOKEN}`,
        'x-forwarded-for': '203.0.113.7',
      });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /claws_live_feeds_held_back_seconds/);
    });
  });
}
