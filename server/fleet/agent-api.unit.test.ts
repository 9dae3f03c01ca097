import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  agentPaths,
  BackupClawRequest,
  BackupClawResponse,
  ClawSummary,
  ErrorResponse,
  matchClawPath,
  PresignedRequest,
  RefusalCode,
  RestoreClawRequest,
  StartClawRequest,
} from './agent-api';

describe('Mini agent API contract', () => {
  it('builds claw paths with the id encoded, and reads them back', () => {
    assert.equal(agentPaths.claw('claw/1'), '/claws/claw%2F1');
    assert.equal(agentPaths.clawStatus('claw-1'), '/claws/claw-1/status');
    assert.deepEqual(matchClawPath(agentPaths.claw('claw/1')), { encodedId: 'claw%2F1', route: 'claw' });
    assert.deepEqual(matchClawPath(agentPaths.clawStatus('claw-1')), {
      encodedId: 'claw-1',
      route: 'clawStatus',
    });
    for (const other of [agentPaths.claws, agentPaths.health, '/claws/a/b', '/claws/a/status/x', '/other/a'])
      assert.equal(matchClawPath(other), undefined, other);
  });

  it('validates a start request: claw id, port range, token, device', () => {
    const ok = { clawId: 'claw-1', port: 19001, gatewayToken: 'g'.repeat(16) };
    assert.ok(StartClawRequest.safeParse(ok).success);
    assert.ok(
      StartClawRequest.safeParse({
        ...ok,
        controlPlaneDevice: { deviceId: 'ab12', publicKey: 'MU7O1QDY9CCK-_' },
      }).success,
    );
    for (const bad of [
      { ...ok, clawId: '../etc' },
      { ...ok, port: 80 },
      { ...ok, gatewayToken: 'short' },
      { ...ok, gatewayToken: `${'g'.repeat(16)} space` },
      { ...ok, controlPlaneDevice: { deviceId: 'a b', publicKey: 'k' } },
    ])
      assert.equal(StartClawRequest.safeParse(bad).success, false, JSON.stringify(bad));
  });

  it('a claw summary is its status report plus where it runs', () => {
    const summary = { clawId: 'claw-1', port: 19001, status: 'running', paired: false, restarts: 0 };
    assert.deepEqual(ClawSummary.parse(summary), summary);
    assert.equal(ClawSummary.safeParse({ ...summary, status: 'unknown' }).success, false);
    assert.ok(
      ErrorResponse.safeParse({ ok: false, error: 'x', issues: [{ path: 'port', message: 'm' }] }).success,
    );
  });

  it('routes backup and restore of a claw', () => {
    assert.equal(agentPaths.clawBackup('claw/1'), '/claws/claw%2F1/backup');
    assert.equal(agentPaths.clawRestore('claw-1'), '/claws/claw-1/restore');
    assert.deepEqual(matchClawPath(agentPaths.clawBackup('claw-1')), {
      encodedId: 'claw-1',
      route: 'clawBackup',
    });
    assert.deepEqual(matchClawPath(agentPaths.clawRestore('claw-1')), {
      encodedId: 'claw-1',
      route: 'clawRestore',
    });
    assert.equal(matchClawPath('/claws/claw-1/backup/x'), undefined);
    assert.ok(RefusalCode.safeParse('backup_invalid').success);
  });

  const presigned = (method: 'PUT' | 'GET') => ({
    url: 'https://bucket.example.com/claws/b1.tar.gz?X-Amz-Signature=abc',
    method,
    expiresAt: '2026-01-01T00:00:00+01:00',
  });

  it('validates a presigned request: http(s) URL, method, headers, an expiry with offset', () => {
    assert.deepEqual(PresignedRequest.parse(presigned('PUT')).headers, {});
    assert.ok(
      PresignedRequest.safeParse({ ...presigned('GET'), headers: { 'x-amz-acl': 'private' } }).success,
    );
    for (const bad of [
      { ...presigned('PUT'), url: 'file:///etc/passwd' },
      { ...presigned('PUT'), url: 'not a url' },
      { ...presigned('PUT'), url: `https://b.example/${'a'.repeat(4100)}` },
      { ...presigned('PUT'), method: 'DELETE' },
      { ...presigned('PUT'), expiresAt: 'tomorrow' },
      { ...presigned('PUT'), headers: { ['h'.repeat(129)]: 'v' } },
      { ...presigned('PUT'), headers: { h: 1 } },
    ])
      assert.equal(PresignedRequest.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 120));
  });

  it('a backup request uploads with PUT; its answer has the size, a lowercase sha256 and when', () => {
    assert.ok(BackupClawRequest.safeParse({ backupId: 'b-1', upload: presigned('PUT') }).success);
    assert.equal(BackupClawRequest.safeParse({ backupId: 'b-1', upload: presigned('GET') }).success, false);
    assert.equal(BackupClawRequest.safeParse({ backupId: '../b', upload: presigned('PUT') }).success, false);
    const answer = { ok: true, bytes: 10, sha256: 'a'.repeat(64), createdAt: '2026-12-02T16:42:35.396Z' };
    assert.deepEqual(BackupClawResponse.parse(answer), answer);
    for (const bad of [
      { ...answer, sha256: 'A'.repeat(64) },
      { ...answer, sha256: 'a'.repeat(63) },
      { ...answer, bytes: -1 },
      { ...answer, bytes: 1.5 },
      { ...answer, createdAt: 'yesterday' },
    ])
      assert.equal(BackupClawResponse.safeParse(bad).success, false, JSON.stringify(bad));
  });

  it('a restore request downloads with GET and names the size and digest to expect', () => {
    const ok = { backupId: 'b-1', download: presigned('GET'), sha256: 'AB'.repeat(32), bytes: 0 };
    assert.equal(RestoreClawRequest.parse(ok).sha256, 'ab'.repeat(32));
    for (const bad of [
      { ...ok, download: presigned('PUT') },
      { ...ok, sha256: 'z'.repeat(64) },
      { ...ok, bytes: -1 },
      { backupId: 'b-1', download: presigned('GET'), bytes: 1 },
    ])
      assert.equal(RestoreClawRequest.safeParse(bad).success, false, JSON.stringify(bad));
  });
});
