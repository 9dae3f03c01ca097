// test: serial (the real OpenClaw gateway, started twice: it runs alone)
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { realGatewayCommand, realGatewayInstalled } from '../../tests/fixtures/gateways';
import {
  startAgentProcess,
  waitForClawStatus,
  type AgentProcess,
} from '../../tests/fixtures/mini-agent-process';
import { startObjectStore, type ObjectStore } from '../../tests/fixtures/object-store';
import { freePort } from '../../tests/fixtures/processes';

/**
 * Backup and restore of the real OpenClaw gateway's state through the agent: `openclaw backup
 * create --verify --json`, the upload, and on restore `backup verify`, `backup restore` and the
 * agent's swap of the restored state directory, after which the real gateway starts on it.
 */

const skip = realGatewayInstalled()
  ? false
  : 'needs the real OpenClaw gateway (OPENCLAW_BIN_DIR and OPENCLAW_PKG_DIR, .ci/install-openclaw.sh)';

describe('durable claws with the real OpenClaw gateway', { skip, timeout: 600_000 }, () => {
  let agent: AgentProcess;
  let store: ObjectStore;
  const clawId = `claw-${randomUUID()}`;
  const gatewayToken = `gw-${randomBytes(16).toString('hex')}`;
  let port: number;
  const clawDir = () => path.join(agent.stateDir, 'claws', clawId);

  before(async () => {
    store = await startObjectStore();
    agent = await startAgentProcess({
      gatewayCommand: realGatewayCommand().join(' '),
      env: { MINI_AGENT_READY_TIMEOUT_MS: '240000', MINI_AGENT_STOP_GRACE_MS: '15000' },
      timeoutMs: 60_000,
    });
    port = await freePort();
    await agent.client.startClaw({ clawId, port, gatewayToken });
    await waitForClawStatus(agent.client, clawId, 'running', undefined, 240_000);
  });
  after(async () => {
    await agent?.stop();
    await store?.close();
  });

  it('backs up the running gateway and restores its state directory and workspace', async () => {
    // Opaque files in the state directory and the workspace travel in the archive as they are.
    const marker = path.join(clawDir(), 'state', 'claws-test-marker.txt');
    const notes = path.join(clawDir(), 'workspace', 'notes.md');
    fs.writeFileSync(marker, 'before the backup\n');
    fs.writeFileSync(notes, 'workspace before\n');

    const b = await agent.client.backupClaw(clawId, {
      backupId: 'real1',
      upload: store.presign('real1', 'PUT'),
    });
    assert.equal(store.objects.get('/bucket/real1')?.sha256, b.sha256);
    assert.ok(b.bytes > 0);

    fs.writeFileSync(marker, 'after the backup\n');
    fs.writeFileSync(notes, 'workspace after\n');
    const { pid } = await agent.client.clawStatus(clawId);
    await agent.client.restoreClaw(clawId, {
      backupId: 'real1',
      download: store.presign('real1', 'GET'),
      sha256: b.sha256,
      bytes: b.bytes,
    });
    assert.equal(fs.readFileSync(marker, 'utf8'), 'before the backup\n');
    assert.equal(fs.readFileSync(notes, 'utf8'), 'workspace before\n');
    // Its SQLite state came back through OpenClaw's own snapshot, not a copy of live files.
    assert.ok(fs.existsSync(path.join(clawDir(), 'state', 'state', 'openclaw.sqlite')));
    await waitForClawStatus(
      agent.client,
      clawId,
      'running',
      (s) => s.pid !== undefined && s.pid !== pid,
      240_000,
    );
    const config = fs.readFileSync(path.join(clawDir(), 'openclaw.json'), 'utf8');
    assert.ok(config.includes(gatewayToken));
  });
});
