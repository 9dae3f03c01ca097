import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clawStream, type ClawState } from '../../events/claw';
import { clawsProjection } from '../../projections/claws';
import { createTestDatabase, type TestDatabase } from '../../tests/fixtures/db';
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
import type { Runtime } from '../runtime';
import { fingerprint } from '../secrets/keyring';

/**
 * What a claw starts with and inherits, through tRPC, the worker and a real agent with dev gateways:
 * named secrets (into `env.vars` of the claw's own config, restarted with, never in an event or a
 * log), the organization's default model (inherited by claws without their own, applied with a
 * restart), and a model given at create (in the claw's first config).
 */
describe('claw settings: secrets, the organization default model, a model at create', () => {
  let database: TestDatabase;
  let rt: Runtime;
  let agent: AgentProcess;
  let stopWorker: () => Promise<void>;
  let owner: SessionUser;
  let member: SessionUser;
  let orgSlug: string;
  let plain: ClawState;
  const SECRET = `xoxb-${randomUUID()}`;
  const ORG_KEY = `sk-org-${randomUUID()}`;
  const OWN_KEY = `sk-own-${randomUUID()}`;

  interface Config {
    env?: { vars?: Record<string, string> };
    models?: { providers?: Record<string, { apiKey?: string; baseUrl?: string }> };
    agents?: { defaults?: { model?: { primary?: string } } };
  }
  const clawDir = (c: ClawState) => path.join(agent.stateDir, 'claws', c.id);
  const configOf = (c: ClawState) =>
    JSON.parse(fs.readFileSync(path.join(clawDir(c), 'openclaw.json'), 'utf8')) as Config;
  const pidOf = (c: ClawState) =>
    (
      JSON.parse(fs.readFileSync(path.join(agent.stateDir, 'claws.json'), 'utf8')) as {
        claws: { clawId: string; pid?: number }[];
      }
    ).claws.find((r) => r.clawId === c.id)?.pid;
  const restartedFrom = (c: ClawState, pid: number | undefined) =>
    waitFor('the gateway restarted', async () => {
      const now = pidOf(c);
      return now && now !== pid ? now : null;
    });
  const active = (id: string) =>
    waitFor('the claw active', async () => {
      const c = await rt.store.load(clawsProjection, id);
      return c?.status === 'active' ? c : null;
    });
  const eventsOf = async (c: ClawState) => rt.store.readStream(clawStream, c.id);
  const allEvents = async () => JSON.stringify(await database.db.selectFrom('events').selectAll().execute());

  before(async () => {
    database = await createTestDatabase('pglite');
    rt = testRuntime(database);
    agent = await startAgent({ env: {} });
    await registerAgentAsMini(rt, agent, { capacity: 4 });
    const w = testWorker(rt);
    w.worker.start();
    stopWorker = () => w.worker.stop();
    owner = await newUser(rt, 'owner');
    member = await newUser(rt, 'member');
    const o = await callerFor(rt, owner);
    orgSlug = (await o.orgs.create({ name: 'Settings Org' })).slug;
    await joinOrg(rt, orgSlug, member, 'member');
    plain = await active((await o.claws.create({ orgSlug, name: 'Plain' })).id);
  });

  after(async () => {
    await stopWorker?.();
    await agent?.stop();
    await rt?.close();
    await database?.close();
  });

  it('sets a named secret: into the claw’s own config, with a restart, its fingerprint in the timeline', async () => {
    const o = await callerFor(rt, owner);
    const pid = pidOf(plain);
    const r = await o.claws.setSecret({
      orgSlug,
      clawSlug: plain.slug,
      secret: { name: 'SLACK_BOT_TOKEN', value: SECRET },
    });
    assert.deepEqual(r, { restarted: true });
    await restartedFrom(plain, pid);
    assert.deepEqual(configOf(plain).env?.vars, { SLACK_BOT_TOKEN: SECRET });
    // Only the agent and the claw read the config (0640 with a claw user, 0600 without).
    const mode = fs.statSync(path.join(clawDir(plain), 'openclaw.json')).mode & 0o777;
    assert.ok(mode === 0o640 || mode === 0o600, mode.toString(8));
    // The gateway took it (the dev gateway prints the names it applied, never a value).
    await waitFor('the gateway applied the secret', async () =>
      fs
        .readFileSync(path.join(clawDir(plain), 'gateway.log'), 'utf8')
        .includes('env vars from config: SLACK_BOT_TOKEN'),
    );
    const view = await o.claws.secrets({ orgSlug, clawSlug: plain.slug });
    assert.equal(view.secrets.length, 1);
    assert.equal(view.secrets[0]!.name, 'SLACK_BOT_TOKEN');
    assert.equal(view.secrets[0]!.fingerprint, fingerprint(SECRET));
    assert.ok(!JSON.stringify(view).includes(SECRET), 'the value is never returned');
    const set = (await eventsOf(plain)).find((e) => e.type === 'ClawSecretSet');
    assert.deepEqual(set?.data, {
      name: 'SLACK_BOT_TOKEN',
      fingerprint: fingerprint(SECRET),
      restarted: true,
      requestedBy: owner.id,
    });
    assert.ok(!(await allEvents()).includes(SECRET), 'no event carries the value');
    const stored = JSON.stringify(await database.db.selectFrom('secrets').selectAll().execute());
    assert.ok(!stored.includes(SECRET), 'stored encrypted');
    const logs = await o.claws.logs({ orgSlug, clawSlug: plain.slug, limit: 500 });
    assert.ok(!JSON.stringify(logs).includes(SECRET), 'the logs never show it');
  });

  it('refuses names the gateway reserves or cannot read, and members who may not set them', async () => {
    const o = await callerFor(rt, owner);
    for (const name of ['lower_case', '1ST', 'OPENCLAW_STATE_DIR', 'PATH', 'NODE_OPTIONS', 'A-B'])
      assert.equal(
        await outcome(o.claws.setSecret({ orgSlug, clawSlug: plain.slug, secret: { name, value: 'v' } })),
        'BAD_REQUEST',
        name,
      );
    assert.equal(
      await outcome(
        o.claws.setSecret({ orgSlug, clawSlug: plain.slug, secret: { name: 'EMPTY', value: '' } }),
      ),
      'BAD_REQUEST',
    );
    const m = await callerFor(rt, member);
    assert.equal(
      await outcome(
        m.claws.setSecret({ orgSlug, clawSlug: plain.slug, secret: { name: 'X_TOKEN', value: 'v' } }),
      ),
      'FORBIDDEN',
    );
    assert.equal((await m.claws.secrets({ orgSlug, clawSlug: plain.slug })).canChange, false);
    assert.equal(
      await outcome(o.claws.removeSecret({ orgSlug, clawSlug: plain.slug, name: 'NOT_SET' })),
      'NOT_FOUND',
    );
  });

  it('inherits the organization’s default model, and restarts the claws that do when it changes', async () => {
    const o = await callerFor(rt, owner);
    const m = await callerFor(rt, member);
    assert.equal(
      await outcome(
        m.claws.setDefaultModel({
          orgSlug,
          settings: { provider: 'openai', model: 'gpt-4.1-mini', apiKey: ORG_KEY },
        }),
      ),
      'FORBIDDEN',
    );
    const pid = pidOf(plain);
    const r = await o.claws.setDefaultModel({
      orgSlug,
      settings: { provider: 'openai', model: 'gpt-4.1-mini', apiKey: ORG_KEY },
    });
    assert.deepEqual(r, { restarted: 1, inheriting: 1 });
    await restartedFrom(plain, pid);
    const config = configOf(plain);
    assert.equal(config.models?.providers?.claws?.apiKey, ORG_KEY);
    assert.equal(config.agents?.defaults?.model?.primary, 'claws/gpt-4.1-mini');
    // The secret set before stays with the restart.
    assert.deepEqual(config.env?.vars, { SLACK_BOT_TOKEN: SECRET });
    const shown = (await m.claws.model({ orgSlug, clawSlug: plain.slug })).current;
    assert.equal(shown?.inherited, true);
    assert.equal(shown?.keyFingerprint, fingerprint(ORG_KEY));
    const last = (await eventsOf(plain)).at(-1)!;
    assert.equal(last.type, 'ClawModelSet');
    assert.deepEqual(last.data, {
      provider: 'openai',
      model: 'gpt-4.1-mini',
      baseUrl: 'https://api.openai.com/v1',
      keyFingerprint: fingerprint(ORG_KEY),
      restarted: true,
      requestedBy: owner.id,
      inherited: true,
    });
    assert.equal((await o.claws.defaultModel({ orgSlug })).current?.keyFingerprint, fingerprint(ORG_KEY));
    assert.ok(!(await allEvents()).includes(ORG_KEY));
  });

  it('starts a claw with the model given at create, over the default, in one append with its request', async () => {
    const o = await callerFor(rt, owner);
    assert.equal(
      await outcome(
        o.claws.create({
          orgSlug,
          name: 'No Key',
          model: { provider: 'anthropic', model: 'claude-sonnet-4-5' },
        }),
      ),
      'BAD_REQUEST',
    );
    const created = await o.claws.create({
      orgSlug,
      name: 'Own Model',
      model: { provider: 'anthropic', model: 'claude-sonnet-4-5', apiKey: OWN_KEY },
    });
    const own = await active(created.id);
    const events = await eventsOf(own);
    assert.deepEqual(
      events.slice(0, 2).map((e) => e.type),
      ['ClawRequested', 'ClawModelSet'],
    );
    assert.equal(events[0]!.transactionId, events[1]!.transactionId, 'one append');
    assert.equal((events[1]!.data as { restarted: boolean }).restarted, false);
    const config = configOf(own);
    assert.equal(config.models?.providers?.claws?.apiKey, OWN_KEY);
    assert.equal(config.agents?.defaults?.model?.primary, 'claws/claude-sonnet-4-5');
    assert.equal((await o.claws.model({ orgSlug, clawSlug: own.slug })).current?.inherited, false);
    assert.ok(!(await allEvents()).includes(OWN_KEY));

    // A new default reaches only the claws that inherit it.
    const ownPid = pidOf(own);
    const plainPid = pidOf(plain);
    const r = await o.claws.setDefaultModel({ orgSlug, settings: { provider: 'openai', model: 'gpt-4.1' } });
    assert.deepEqual(r, { restarted: 1, inheriting: 1 });
    await restartedFrom(plain, plainPid);
    assert.equal(
      configOf(plain).models?.providers?.claws?.apiKey,
      ORG_KEY,
      'the same provider keeps its key',
    );
    assert.equal(pidOf(own), ownPid);
    assert.equal(configOf(own).models?.providers?.claws?.apiKey, OWN_KEY);
  });

  it('removes a secret and the default: the claw restarts without them', async () => {
    const o = await callerFor(rt, owner);
    let pid = pidOf(plain);
    assert.deepEqual(await o.claws.removeSecret({ orgSlug, clawSlug: plain.slug, name: 'SLACK_BOT_TOKEN' }), {
      restarted: true,
    });
    await restartedFrom(plain, pid);
    assert.equal(configOf(plain).env, undefined);
    assert.deepEqual((await o.claws.secrets({ orgSlug, clawSlug: plain.slug })).secrets, []);
    pid = pidOf(plain);
    assert.deepEqual(await o.claws.clearDefaultModel({ orgSlug }), { restarted: 1, inheriting: 1 });
    await restartedFrom(plain, pid);
    assert.equal(configOf(plain).models?.providers?.claws, undefined);
    assert.equal((await o.claws.model({ orgSlug, clawSlug: plain.slug })).current, null);
    assert.deepEqual(
      (await eventsOf(plain)).slice(-2).map((e) => e.type),
      ['ClawSecretRemoved', 'ClawModelCleared'],
    );
    assert.equal(await outcome(o.claws.clearDefaultModel({ orgSlug })), 'PRECONDITION_FAILED');
  });
});
