import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type WebSocket from 'ws';
import { clawStream, type ClawState } from '../../events/claw';
import { backupsOfClaw } from '../../projections/claw-backups';
import { clawsProjection } from '../../projections/claws';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import {
  registerAgentAsMini,
  startAgent,
  testRuntime,
  testWorker,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { waitFor } from '../../tests/fixtures/processes';
import { callerFor, joinOrg, newUser, outcome } from '../../tests/fixtures/trpc';
import type { SessionUser } from '../auth/session';
import { LocalBucketStore } from '../buckets';
import { openclawConnect, request } from '../gateway/openclaw-client';
import type { Runtime } from '../runtime';
import { gatewayTokenSecret } from '../secrets/secret-store';
import { BackupScheduler } from './backup-scheduler';
import { retentionOf, takeBackup } from './backups';
import { createDeploymentServices } from '../deployment';
import { silentLogger } from '../log';

/**
 * Backups end to end with the real Mini agent and dev gateways: a backup taken from the claw page
 * (tRPC) is archived by the gateway's own command on the Mini, uploaded through a presigned URL
 * into the claw's bucket and recorded; the scheduler backs up running claws; retention prunes the
 * bucket; a restore through the worker brings back the chat history of the backup, not what came
 * after; a backup whose bytes changed in the bucket is refused, and the claw keeps its state.
 */
for (const kind of testDrivers()) {
  describe(`backups and restore on ${kind}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let agent: AgentProcess;
    let worker: ReturnType<typeof testWorker>;
    let owner: SessionUser;
    let member: SessionUser;
    let orgSlug: string;
    let claw: ClawState;
    let clawId: string;

    const load = async () => (await rt.store.load(clawsProjection, clawId))!;
    const until = (status: ClawState['status'], after = 0) =>
      waitFor(
        `claw ${status}`,
        async () => {
          const c = await load();
          return c.status === status && c.version > after ? c : null;
        },
        60_000,
      );
    const ref = () => ({ orgSlug, clawSlug: claw.slug });

    /** The user messages in the claw's chat history, through its gateway. */
    async function withGateway<T>(fn: (ws: WebSocket) => Promise<T>): Promise<T> {
      const token = (await rt.secrets.get(gatewayTokenSecret(claw.id)))!;
      const { ws } = await openclawConnect({
        url: `ws://127.0.0.1:${claw.miniPort}`,
        token,
        scopes: ['operator.read', 'operator.write'],
        timeoutMs: 10_000,
      });
      try {
        return await fn(ws);
      } finally {
        ws.close();
      }
    }
    const say = (text: string) =>
      withGateway((ws) =>
        request(ws, 'chat.send', { sessionKey: 'main', message: text, idempotencyKey: randomUUID() }),
      );
    const said = () =>
      withGateway(async (ws) => {
        const h = (await request(ws, 'chat.history', { sessionKey: 'main' })) as {
          messages: { role: string; content: { text?: string }[] | string }[];
        };
        return h.messages
          .filter((m) => m.role === 'user')
          .map((m) => (typeof m.content === 'string' ? m.content : m.content.map((c) => c.text).join('')));
      });

    before(async () => {
      database = await createTestDatabase(kind);
      rt = testRuntime(database);
      agent = await startAgent();
      await registerAgentAsMini(rt, agent, { capacity: 2 });
      worker = testWorker(rt);
      worker.worker.start();
      owner = await newUser(rt, 'owner');
      member = await newUser(rt, 'member');
      const o = await callerFor(rt, owner);
      orgSlug = (await o.orgs.create({ name: `Backups ${kind}` })).slug;
      await joinOrg(rt, orgSlug, member, 'member');
      clawId = (await o.claws.create({ orgSlug, name: 'Durable' })).id;
      claw = await until('active');
    });
    after(async () => {
      await worker?.worker.stop();
      await agent?.stop();
      await rt?.close();
      await database?.close();
    });

    it('backs up on demand into the claw’s bucket and records it; members only see the list', async () => {
      await say('before the backup');
      const o = await callerFor(rt, owner);
      const m = await callerFor(rt, member);
      assert.equal(await outcome(m.claws.backupNow(ref())), 'FORBIDDEN');
      const b = await o.claws.backupNow(ref());
      assert.ok(b.bytes > 0);
      const listed = await m.claws.backups(ref());
      assert.deepEqual(
        listed.backups.map((x) => x.backupId),
        [b.backupId],
      );
      assert.equal(listed.canChange, false);
      assert.equal(listed.overdue, false);
      const [row] = await backupsOfClaw(rt.database.db, claw.id);
      const file = path.join(
        (rt.buckets as LocalBucketStore).rootDir,
        (await load()).bucket!,
        row!.objectKey,
      );
      assert.equal(fs.statSync(file).size, row!.bytes, 'the object in the bucket is what the event says');
      const archive = zlib.gunzipSync(fs.readFileSync(file)).toString('latin1');
      assert.match(archive, /openclaw\.json/, 'the archive carries the claw’s config…');
      const token = (await rt.secrets.get(gatewayTokenSecret(claw.id)))!;
      assert.ok(!archive.includes(token), '…without its gateway token');
      const events = await rt.store.readStream(clawStream, claw.id);
      const taken = events.find((e) => e.type === 'ClawBackupTaken');
      assert.ok(taken && taken.type === 'ClawBackupTaken');
      assert.equal(taken.data.kind, 'manual');
      assert.match(taken.data.sha256, /^[0-9a-f]{64}$/);
      assert.ok(!JSON.stringify(events).includes('X-Claws-Signature'), 'no presigned URL in the log');
    });

    it('restores the backup through the worker: the history written after it is gone', async () => {
      await say('after the backup');
      assert.deepEqual(await said(), ['before the backup', 'after the backup']);
      const o = await callerFor(rt, owner);
      const [b] = (await o.claws.backups(ref())).backups;
      const asked = await o.claws.restore({ ...ref(), backupId: b!.backupId });
      assert.equal(asked.status, 'restoring');
      const active = await until('active', asked.version);
      const types = (await rt.store.readStream(clawStream, claw.id, { fromVersion: asked.version })).map(
        (e) => e.type,
      );
      assert.deepEqual(types.slice(0, 3), ['ClawRestoreRequested', 'ClawRestored', 'ClawActive']);
      claw = active;
      assert.deepEqual(await said(), ['before the backup']);
    });

    it('refuses a backup whose bytes changed in the bucket, and the claw keeps its state', async () => {
      await say('kept through a refused restore');
      const o = await callerFor(rt, owner);
      const [b] = await backupsOfClaw(rt.database.db, claw.id);
      const file = path.join((rt.buckets as LocalBucketStore).rootDir, claw.bucket!, b!.objectKey);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      fs.writeFileSync(file, bytes);
      const asked = await o.claws.restore({ ...ref(), backupId: b!.backupId });
      const back = await until('active', asked.version);
      const failed = (await rt.store.readStream(clawStream, claw.id, { fromVersion: asked.version })).find(
        (e) => e.type === 'ClawRestoreFailed',
      );
      assert.ok(failed, 'ClawRestoreFailed recorded');
      assert.ok(back.lastError === null || back.status === 'active');
      assert.deepEqual(await said(), ['before the backup', 'kept through a refused restore']);
    });

    it('backs up running claws on schedule, and prunes what retention does not keep', async () => {
      const deps = {
        store: rt.store,
        buckets: rt.buckets,
        agents: createDeploymentServices(rt).agents,
        retention: { ...retentionOf(rt.config), keepLast: 2, keepDaily: 0, keepWeekly: 0 },
      };
      const scheduler = new BackupScheduler(deps, silentLogger, {
        intervalMs: 60_000,
        checkMs: 60_000,
        concurrency: 1,
      });
      // Due: its newest backup is older than the interval once the clock is 61 s on.
      const realNow = Date.now;
      Date.now = () => realNow() + 61_000;
      try {
        await scheduler.runOnce();
      } finally {
        Date.now = realNow;
      }
      const events = await rt.store.readStream(clawStream, claw.id);
      assert.ok(
        events.slice(-3).some((e) => e.type === 'ClawBackupTaken' && e.data.kind === 'scheduled'),
        'the scheduler took a backup of the running claw',
      );
      await takeBackup(deps, { actor: 'system:test', correlationId: randomUUID() }, claw.id, 'manual');
      const kept = await backupsOfClaw(rt.database.db, claw.id);
      assert.equal(kept.length, 2, 'retention keeps the newest two');
      const bucketDir = path.join((rt.buckets as LocalBucketStore).rootDir, claw.bucket!);
      const objects = fs.readdirSync(path.join(bucketDir, 'backups'));
      assert.deepEqual(
        objects.sort(),
        kept.map((b) => path.basename(b.objectKey)).sort(),
        'the bucket holds exactly the backups listed',
      );
      assert.ok(
        (await rt.store.readStream(clawStream, claw.id)).some((e) => e.type === 'ClawBackupPruned'),
        'each pruned backup is an event',
      );
    });

    it('serves the gateway output to owners and admins, redacted, and follows it', async () => {
      const m = await callerFor(rt, member);
      assert.equal(await outcome(m.claws.logs(ref())), 'FORBIDDEN');
      const o = await callerFor(rt, owner);
      const tail = await o.claws.logs(ref());
      assert.ok(
        tail.lines.some((l) => /dev gateway listening/.test(l.text)),
        'the gateway’s own output',
      );
      const token = (await rt.secrets.get(gatewayTokenSecret(claw.id)))!;
      assert.ok(!JSON.stringify(tail).includes(token));
      const ac = new AbortController();
      const follower = await callerFor(rt, owner, { signal: ac.signal });
      const stream = await follower.claws.onLogs({ ...ref(), after: tail.offset, file: tail.file });
      const seen = (async () => {
        for await (const batch of stream as AsyncIterable<{ lines: { text: string }[] }>)
          if (batch.lines.some((l) => /dev gateway listening/.test(l.text))) return true;
        return false;
      })();
      // A restart starts a new process, which says it listens again: the follow brings that line.
      await o.claws.restart(ref());
      const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 20_000).unref());
      const got = await Promise.race([seen, timeout]);
      ac.abort();
      assert.equal(got, true, 'the new output arrived through the follow');
      claw = await until('active');
    });

    it('clones a claw from one of its backups: its state, with a gateway token of its own', async () => {
      const o = await callerFor(rt, owner);
      const [b] = await backupsOfClaw(rt.database.db, claw.id);
      const clone = await o.claws.create({ orgSlug, name: 'Durable clone', fromBackup: b!.backupId });
      const cloned = await waitFor(
        'the clone active',
        async () => {
          const c = await rt.store.load(clawsProjection, clone.id);
          return c?.status === 'active' ? c : null;
        },
        60_000,
      );
      const types = (await rt.store.readStream(clawStream, clone.id)).map((e) => e.type);
      assert.deepEqual(types.slice(-3), ['BucketCreated', 'ClawRestored', 'ClawActive']);
      const original = claw;
      claw = cloned;
      try {
        assert.deepEqual(await said(), ['before the backup', 'kept through a refused restore']);
      } finally {
        claw = original;
      }
      assert.notEqual(
        await rt.secrets.get(gatewayTokenSecret(clone.id)),
        await rt.secrets.get(gatewayTokenSecret(claw.id)),
        'a clone has a gateway token of its own',
      );
      // Another organization's backup is not found, whoever asks.
      const stranger = await callerFor(rt, await newUser(rt, 'stranger'));
      const other = (await stranger.orgs.create({ name: 'Elsewhere' })).slug;
      assert.equal(
        await outcome(stranger.claws.create({ orgSlug: other, name: 'Thief', fromBackup: b!.backupId })),
        'NOT_FOUND',
      );
      await o.claws.delete({ orgSlug, clawSlug: cloned.slug });
    });

    it('backs up a stopped claw, and a deleted claw leaves an empty bucket behind it deleted', async () => {
      const o = await callerFor(rt, owner);
      const stopping = await o.claws.stop(ref());
      await until('stopped', stopping.version);
      const stopEvents = await rt.store.readStream(clawStream, claw.id, { fromVersion: stopping.version });
      assert.deepEqual(
        stopEvents.map((e) => (e.type === 'ClawBackupTaken' ? `${e.type}:${e.data.kind}` : e.type)),
        ['ClawStopRequested', 'ClawBackupTaken:before_stop', 'ClawStopped'],
        'a stop is preceded by a backup of the running gateway',
      );
      const b = await o.claws.backupNow(ref());
      assert.ok(b.bytes > 0);
      const bucket = (await load()).bucket!;
      await o.claws.delete(ref());
      await until('deleted');
      assert.equal(await rt.buckets.exists(bucket), false, 'the bucket and its backups are gone');
      assert.deepEqual(await backupsOfClaw(rt.database.db, claw.id), [], 'and so is their record');
    });
  });
}
