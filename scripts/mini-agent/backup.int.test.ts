import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type WebSocket from 'ws';
import { FailureError } from '../../server/failure';
import { openclawConnect, request } from '../../server/gateway/openclaw-client';
import {
  startAgentProcess,
  waitForClawStatus,
  type AgentProcess,
} from '../../tests/fixtures/mini-agent-process';
import { startObjectStore, type ObjectStore } from '../../tests/fixtures/object-store';
import { freePort, waitFor } from '../../tests/fixtures/processes';

/**
 * Durable claws end to end: the real agent process, real dev gateway processes (which keep their
 * chat history in their state directory), and a local stand-in for the presigned bucket URLs.
 */

interface History {
  messages: { role: string; content: unknown }[];
  totalMessages: number;
}

const textOf = (h: History) => JSON.stringify(h.messages.map((m) => m.content));

async function withGateway<T>(port: number, token: string, fn: (ws: WebSocket) => Promise<T>): Promise<T> {
  const { ws } = await openclawConnect({
    url: `ws://127.0.0.1:${port}`,
    token,
    scopes: ['operator.read', 'operator.write'],
    timeoutMs: 5000,
  });
  try {
    return await fn(ws);
  } finally {
    ws.close();
  }
}

const history = (port: number, token: string) =>
  withGateway(port, token, (ws) => request<History>(ws, 'chat.history', { sessionKey: 'main' }));

/** Sends a message and waits for the gateway's reply to be in the history. */
async function chat(port: number, token: string, message: string): Promise<void> {
  const before = (await history(port, token)).totalMessages;
  await withGateway(port, token, (ws) =>
    request(ws, 'chat.send', { sessionKey: 'main', message, idempotencyKey: randomUUID() }),
  );
  await waitFor(
    `the reply to "${message}"`,
    async () => (await history(port, token)).totalMessages >= before + 2,
  );
}

async function expectFailure(
  p: Promise<unknown>,
  status: number,
  kind: 'permanent' | 'retryable',
  code?: string,
) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof FailureError, String(err));
    assert.equal(err.status, status, err.message);
    assert.equal(err.kind, kind);
    if (code) assert.equal(err.code, code);
    return true;
  });
}

describe('durable claws: backup and restore through the agent', { timeout: 240_000 }, () => {
  let agent: AgentProcess;
  let store: ObjectStore;
  const clawId = `claw-${randomUUID()}`;
  const gatewayToken = `gw-${randomBytes(16).toString('hex')}`;
  let port: number;
  let backup: { bytes: number; sha256: string; createdAt: string };

  before(async () => {
    store = await startObjectStore();
    agent = await startAgentProcess({
      env: { CLAWS_DEV_GATEWAY_WORD_MS: '1', MINI_AGENT_GATEWAY_PASS_ENV: 'CLAWS_DEV_GATEWAY_WORD_MS' },
    });
    port = await freePort();
    await agent.client.startClaw({ clawId, port, gatewayToken });
    await waitForClawStatus(agent.client, clawId, 'running');
  });
  after(async () => {
    await agent?.stop();
    await store?.close();
  });

  it("the dev gateway's history survives its own restart", async () => {
    await chat(port, gatewayToken, 'first message');
    const { pid } = await agent.client.clawStatus(clawId);
    await agent.client.restartClaw(clawId);
    await waitForClawStatus(agent.client, clawId, 'running', (s) => s.pid !== undefined && s.pid !== pid);
    const h = await history(port, gatewayToken);
    assert.equal(h.totalMessages, 2);
    assert.match(textOf(h), /first message/);
    const file = path.join(agent.stateDir, 'claws', clawId, 'state', 'dev-gateway-chat.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('backs a running claw up to the presigned PUT, streamed with a Content-Length', async () => {
    backup = await agent.client.backupClaw(clawId, {
      backupId: 'b1',
      upload: store.presign('b1.tar.gz', 'PUT'),
    });
    const stored = store.objects.get('/bucket/b1.tar.gz');
    assert.ok(stored);
    assert.equal(stored.body.length, backup.bytes);
    assert.equal(stored.sha256, backup.sha256);
    assert.ok(Math.abs(Date.parse(backup.createdAt) - Date.now()) < 60_000);
    const put = store.puts.at(-1)!;
    assert.equal(put.contentLength, String(backup.bytes));
    assert.equal(put.chunked, false);
    assert.equal((await agent.client.clawStatus(clawId)).status, 'running');
    // The work directory is gone: nothing of the archive is left on the Mini.
    const tmp = path.join(agent.stateDir, 'claws', clawId, 'tmp');
    assert.deepEqual(
      fs.readdirSync(tmp).filter((n) => n.startsWith('claws-')),
      [],
    );
  });

  it('restores the backup: the later message is gone, the first is back, the gateway runs', async () => {
    await chat(port, gatewayToken, 'later message');
    assert.match(textOf(await history(port, gatewayToken)), /later message/);
    const { pid } = await agent.client.clawStatus(clawId);
    await agent.client.restoreClaw(clawId, {
      backupId: 'b1',
      download: store.presign('b1.tar.gz', 'GET'),
      sha256: backup.sha256,
      bytes: backup.bytes,
    });
    await waitForClawStatus(agent.client, clawId, 'running', (s) => s.pid !== undefined && s.pid !== pid);
    const h = await history(port, gatewayToken);
    assert.match(textOf(h), /first message/);
    assert.doesNotMatch(textOf(h), /later message/);
    assert.equal(h.totalMessages, 2);
    const state = path.join(agent.stateDir, 'claws', clawId, 'state');
    assert.equal(fs.statSync(state).mode & 0o777, 0o700);
    // The agent's own config is still the agent's: rendered for this claw, not the archive's copy.
    assert.ok(
      fs
        .readFileSync(path.join(agent.stateDir, 'claws', clawId, 'openclaw.json'), 'utf8')
        .includes(gatewayToken),
    );
  });

  it('refuses a download whose sha256 differs (422 backup_invalid); the claw keeps its state and runs', async () => {
    await chat(port, gatewayToken, 'after the restore');
    const { pid } = await agent.client.clawStatus(clawId);
    await expectFailure(
      agent.client.restoreClaw(clawId, {
        backupId: 'b1',
        download: store.presign('b1.tar.gz', 'GET'),
        sha256: '0'.repeat(64),
        bytes: backup.bytes,
      }),
      422,
      'permanent',
      'backup_invalid',
    );
    await expectFailure(
      agent.client.restoreClaw(clawId, {
        backupId: 'b1',
        download: store.presign('b1.tar.gz', 'GET'),
        sha256: backup.sha256,
        bytes: backup.bytes + 1,
      }),
      422,
      'permanent',
      'backup_invalid',
    );
    const s = await agent.client.clawStatus(clawId);
    assert.equal(s.status, 'running');
    assert.equal(s.pid, pid, 'the gateway was never stopped');
    assert.match(textOf(await history(port, gatewayToken)), /after the restore/);
  });

  it("refuses an archive the gateway's own verify rejects, even with the right size and digest", async () => {
    const bogus = gzipSync(Buffer.from('not a tar archive at all'.repeat(40)));
    store.objects.set('/bucket/bogus.tar.gz', {
      body: bogus,
      sha256: createHash('sha256').update(bogus).digest('hex'),
    });
    const { pid } = await agent.client.clawStatus(clawId);
    await expectFailure(
      agent.client.restoreClaw(clawId, {
        backupId: 'bogus',
        download: store.presign('bogus.tar.gz', 'GET'),
        sha256: createHash('sha256').update(bogus).digest('hex'),
        bytes: bogus.length,
      }),
      422,
      'permanent',
      'backup_invalid',
    );
    const s = await agent.client.clawStatus(clawId);
    assert.equal(s.status, 'running');
    assert.equal(s.pid, pid);
    assert.match(textOf(await history(port, gatewayToken)), /after the restore/);
  });

  it('reports a refused upload as 502 without the URL query string, in the answer and the logs', async () => {
    const wrong = 'f'.repeat(32);
    await assert.rejects(
      agent.client.backupClaw(clawId, { backupId: 'b2', upload: store.presign('b2.tar.gz', 'PUT', wrong) }),
      (err: unknown) => {
        assert.ok(err instanceof FailureError);
        assert.equal(err.status, 502);
        assert.equal(err.kind, 'retryable');
        assert.match(err.message, /HTTP 403/);
        assert.ok(!err.message.includes(wrong));
        assert.ok(!err.message.includes('X-Amz'));
        return true;
      },
    );
    assert.ok(!agent.output().includes(store.signature));
    assert.ok(!agent.output().includes(wrong));
    assert.ok(!agent.output().includes(gatewayToken));
  });

  it('backs up a stopped claw, and restores it without starting it', async () => {
    await agent.client.pauseClaw(clawId);
    await waitForClawStatus(agent.client, clawId, 'stopped');
    const b = await agent.client.backupClaw(clawId, {
      backupId: 'b3',
      upload: store.presign('b3.tar.gz', 'PUT'),
    });
    assert.equal(store.objects.get('/bucket/b3.tar.gz')?.sha256, b.sha256);
    await agent.client.restoreClaw(clawId, {
      backupId: 'b1',
      download: store.presign('b1.tar.gz', 'GET'),
      sha256: backup.sha256,
      bytes: backup.bytes,
    });
    assert.equal((await agent.client.clawStatus(clawId)).status, 'stopped');
    await agent.client.startClaw({ clawId, port, gatewayToken });
    await waitForClawStatus(agent.client, clawId, 'running');
    const h = await history(port, gatewayToken);
    assert.doesNotMatch(textOf(h), /after the restore/);
    assert.match(textOf(h), /first message/);
  });

  it('serializes a backup and a restore of one claw, and answers 404 for an unknown claw', async () => {
    const [b, r] = await Promise.allSettled([
      agent.client.backupClaw(clawId, { backupId: 'b4', upload: store.presign('b4.tar.gz', 'PUT') }),
      agent.client.restoreClaw(clawId, {
        backupId: 'b1',
        download: store.presign('b1.tar.gz', 'GET'),
        sha256: backup.sha256,
        bytes: backup.bytes,
      }),
    ]);
    assert.equal(b.status, 'fulfilled', String((b as PromiseRejectedResult).reason));
    assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
    await waitForClawStatus(agent.client, clawId, 'running');
    await expectFailure(
      agent.client.backupClaw('claw-nobody', { backupId: 'x', upload: store.presign('x', 'PUT') }),
      404,
      'permanent',
    );
  });
});
