// test: serial (with the real OpenClaw gateway installed, it boots one)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clawStream, type ClawState } from '../../events/claw';
import { clawsProjection } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import { createTestDatabase, type TestDatabase } from '../../tests/fixtures/db';
import {
  registerAgentAsMini,
  startAgent,
  testRuntime,
  testWorker,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { realGatewayCommand, realGatewayInstalled } from '../../tests/fixtures/gateways';
import { waitFor } from '../../tests/fixtures/processes';
import { startScriptedModel, type ScriptedModel } from '../../tests/fixtures/scripted-model';
import { callerFor, joinOrg, newUser, outcome } from '../../tests/fixtures/trpc';
import type { SessionUser } from '../auth/session';
import { openclawConnect, request } from '../gateway/openclaw-client';
import type { Runtime } from '../runtime';
import { fingerprint } from '../secrets/keyring';
import { gatewayTokenSecret } from '../secrets/secret-store';

const REAL = realGatewayInstalled();

/**
 * A claw's model, set on its page (tRPC), through the real agent to the gateway's own config: with
 * the real OpenClaw gateway (CI) a chat turn is answered by the model the member configured, with
 * their key; with the dev gateway, the config the agent wrote and the restart are checked.
 */
describe(`a claw's model and key (${REAL ? 'real OpenClaw gateway' : 'dev gateway'})`, () => {
  let database: TestDatabase;
  let rt: Runtime;
  let agent: AgentProcess;
  let model: ScriptedModel;
  let stopWorker: () => Promise<void>;
  let deployments: ReturnType<typeof testWorker>['deployments'];
  let owner: SessionUser;
  let member: SessionUser;
  let orgSlug: string;
  let claw: ClawState;
  const KEY = `sk-test-${randomUUID()}`;

  const configOf = () =>
    JSON.parse(fs.readFileSync(path.join(agent.stateDir, 'claws', claw.id, 'openclaw.json'), 'utf8')) as {
      models?: {
        providers?: Record<string, { apiKey?: string; baseUrl?: string; models?: { id: string }[] }>;
      };
      agents?: { defaults?: { model?: { primary?: string } } };
    };
  const recordOf = () =>
    (
      JSON.parse(fs.readFileSync(path.join(agent.stateDir, 'claws.json'), 'utf8')) as {
        claws: { clawId: string; pid?: number }[];
      }
    ).claws.find((c) => c.clawId === claw.id)!;
  const gatewayUp = (previousPid?: number) =>
    waitFor(
      'the gateway running again',
      async () => {
        const r = recordOf();
        if (!r.pid || r.pid === previousPid) return null;
        const token = (await rt.secrets.get(gatewayTokenSecret(claw.id)))!;
        const { ws } = await openclawConnect({
          url: `ws://127.0.0.1:${claw.miniPort}`,
          token,
          scopes: ['operator.read', 'operator.write'],
          timeoutMs: 5000,
        }).catch(() => ({ ws: null }));
        ws?.close();
        return ws ? r.pid : null;
      },
      REAL ? 240_000 : 30_000,
      250,
    );

  before(async () => {
    database = await createTestDatabase('pglite');
    rt = testRuntime(database);
    model = await startScriptedModel();
    agent = await startAgent({
      ...(REAL ? { gatewayCmd: realGatewayCommand().join(' ') } : {}),
      env: { MINI_AGENT_READY_TIMEOUT_MS: '240000' },
    });
    await registerAgentAsMini(rt, agent, { capacity: 1 });
    const w = testWorker(rt, { readyTimeoutMs: 240_000 });
    const worker = w.worker;
    deployments = w.deployments;
    worker.start();
    stopWorker = () => worker.stop();
    owner = await newUser(rt, 'owner');
    member = await newUser(rt, 'member');
    const o = await callerFor(rt, owner);
    orgSlug = (await o.orgs.create({ name: 'Model Org' })).slug;
    await joinOrg(rt, orgSlug, member, 'member');
    const created = await o.claws.create({ orgSlug, name: 'Thinker' });
    claw = await waitFor(
      'the claw active',
      async () => {
        const c = await rt.store.load(clawsProjection, created.id);
        return c?.status === 'active' ? c : null;
      },
      REAL ? 300_000 : 60_000,
    );
  });

  after(async () => {
    await stopWorker?.();
    await agent?.stop();
    await model?.close();
    await rt?.close();
    await database?.close();
  });

  it('stores the key encrypted, shows only its fingerprint, and restarts the gateway with that model', async () => {
    const o = await callerFor(rt, owner);
    const before = recordOf().pid;
    const r = await o.claws.setModel({
      orgSlug,
      clawSlug: claw.slug,
      settings: { provider: 'openai-compatible', baseUrl: model.baseUrl, model: 'scripted', apiKey: KEY },
    });
    assert.equal(r.restarted, true);
    assert.equal(r.model?.keyFingerprint, fingerprint(KEY));
    assert.equal(r.model?.baseUrl, model.baseUrl);
    assert.ok(!JSON.stringify(r).includes(KEY), 'the key is never returned');
    // The agent answered once the settings were durable; it restarts the gateway right after.
    await gatewayUp(before);
    // The gateway's own config names the model and carries the key; nothing else does.
    const config = configOf();
    assert.equal(config.models?.providers?.claws?.apiKey, KEY);
    assert.equal(config.models?.providers?.claws?.baseUrl, model.baseUrl);
    assert.equal(config.agents?.defaults?.model?.primary, 'claws/scripted');
    const events = await rt.store.readStream(clawStream, claw.id);
    const set = events.find((e) => e.type === 'ClawModelSet');
    assert.deepEqual(set?.data, {
      provider: 'openai-compatible',
      model: 'scripted',
      baseUrl: model.baseUrl,
      keyFingerprint: fingerprint(KEY),
      restarted: true,
      requestedBy: owner.id,
    });
    const everything = JSON.stringify(await database.db.selectFrom('events').selectAll().execute());
    assert.ok(!everything.includes(KEY), 'no event carries the key');
    const secrets = JSON.stringify(await database.db.selectFrom('secrets').selectAll().execute());
    assert.ok(!secrets.includes(KEY), 'the key is stored encrypted');
  });

  it(
    REAL
      ? 'answers a chat turn from the configured model, with the member’s key'
      : 'keeps running with the model across a second start',
    async () => {
      if (!REAL) {
        // The worker's idempotent start (what the reconciler also sends) does not restart it again.
        const pid = recordOf().pid;
        await deployments.agents.start(claw, await rt.store.load(minisProjection, claw.miniId!));
        assert.equal(recordOf().pid, pid);
        return;
      }
      const token = (await rt.secrets.get(gatewayTokenSecret(claw.id)))!;
      const { ws } = await openclawConnect({
        url: `ws://127.0.0.1:${claw.miniPort}`,
        token,
        scopes: ['operator.read', 'operator.write'],
        timeoutMs: 20_000,
      });
      try {
        const runId = `model-${randomUUID()}`;
        const reply = new Promise<{ state: string; text: string }>((resolve) => {
          let text = '';
          ws.on('message', (data) => {
            const f = JSON.parse(data.toString()) as {
              event?: string;
              payload?: { runId?: string; state?: string; message?: { content?: { text?: string }[] } };
            };
            if (f.event !== 'chat' || f.payload?.runId !== runId) return;
            const t = f.payload.message?.content?.map((c) => c.text ?? '').join('') ?? '';
            if (t) text = t;
            if (f.payload.state === 'final' || f.payload.state === 'error')
              resolve({ state: f.payload.state, text });
          });
        });
        const asked = model.requests.length;
        await request(ws, 'chat.send', {
          sessionKey: 'main',
          message: 'hello, model',
          idempotencyKey: runId,
        });
        const answer = await Promise.race([
          reply,
          new Promise<{ state: string; text: string }>((r) =>
            setTimeout(() => r({ state: 'timeout', text: '' }), 180_000).unref(),
          ),
        ]);
        assert.equal(answer.state, 'final');
        assert.match(answer.text, /Scripted reply/);
        const mine = model.requests.slice(asked);
        assert.ok(mine.length > 0, 'the gateway asked the configured model');
        assert.equal(mine[0]!.model, 'scripted');
        assert.equal(mine[0]!.authorization, `Bearer ${KEY}`);
      } finally {
        ws.close();
      }
    },
  );

  it('keeps the key when only the model changes, and refuses what it cannot use, saying why', async () => {
    const o = await callerFor(rt, owner);
    const before = recordOf().pid;
    const r = await o.claws.setModel({
      orgSlug,
      clawSlug: claw.slug,
      settings: { provider: 'openai-compatible', baseUrl: model.baseUrl, model: 'scripted-2' },
    });
    assert.equal(r.model?.keyFingerprint, fingerprint(KEY), 'the stored key stays');
    await gatewayUp(before);
    assert.equal(configOf().agents?.defaults?.model?.primary, 'claws/scripted-2');
    const refusals: [string, Parameters<typeof o.claws.setModel>[0]['settings'], RegExp][] = [
      [
        'another provider without its key',
        { provider: 'anthropic', model: 'claude' },
        /An API key for Anthropic is required/,
      ],
      [
        'a key in the URL',
        { provider: 'openai-compatible', baseUrl: 'https://x.example/v1?key=abc', model: 'm', apiKey: 'k1' },
        /must not carry credentials/,
      ],
      [
        'a base URL for a fixed provider',
        { provider: 'openai', baseUrl: 'https://x.example/v1', model: 'm', apiKey: 'k1' },
        /fixed base URL/,
      ],
      [
        'no base URL for a compatible one',
        { provider: 'openai-compatible', model: 'm', apiKey: 'k1' },
        /needs its base URL/,
      ],
      ['a model id with spaces', { provider: 'openai', model: 'gpt 4', apiKey: 'k1' }, /no spaces/],
    ];
    for (const [what, settings, message] of refusals) {
      await assert.rejects(
        o.claws.setModel({ orgSlug, clawSlug: claw.slug, settings }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'BAD_REQUEST', what);
          assert.match(err.message, message, what);
          return true;
        },
      );
    }
    // Nothing of a refused change was kept.
    assert.equal((await o.claws.model({ orgSlug, clawSlug: claw.slug })).current?.model, 'scripted-2');
  });

  it('shows members the model but not the key, and lets only owners and admins change it', async () => {
    const m = await callerFor(rt, member);
    const view = await m.claws.model({ orgSlug, clawSlug: claw.slug });
    assert.equal(view.current?.providerLabel, 'OpenAI-compatible');
    assert.ok(!JSON.stringify(view).includes(KEY));
    assert.equal(view.providers.length, 4);
    assert.equal(
      await outcome(
        m.claws.setModel({
          orgSlug,
          clawSlug: claw.slug,
          settings: { provider: 'openai', model: 'x', apiKey: 'k' },
        }),
      ),
      'FORBIDDEN',
    );
    assert.equal(await outcome(m.claws.clearModel({ orgSlug, clawSlug: claw.slug })), 'FORBIDDEN');
  });

  it('clears the model: the gateway restarts without it, and the timeline says so', async () => {
    const o = await callerFor(rt, owner);
    const before = recordOf().pid;
    assert.deepEqual(await o.claws.clearModel({ orgSlug, clawSlug: claw.slug }), { restarted: true });
    await gatewayUp(before);
    assert.equal(configOf().models?.providers?.claws, undefined);
    assert.equal((await o.claws.model({ orgSlug, clawSlug: claw.slug })).current, null);
    const last = (await rt.store.readStream(clawStream, claw.id)).at(-1)!;
    assert.equal(last.type, 'ClawModelCleared');
    assert.equal(await outcome(o.claws.clearModel({ orgSlug, clawSlug: claw.slug })), 'PRECONDITION_FAILED');
  });

  it('says plainly when the Mini cannot be asked, and keeps nothing of the change', async () => {
    await agent.stop();
    const o = await callerFor(rt, owner);
    await assert.rejects(
      o.claws.setModel({
        orgSlug,
        clawSlug: claw.slug,
        settings: { provider: 'openai', model: 'gpt-4.1-mini', apiKey: KEY },
      }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'SERVICE_UNAVAILABLE');
        assert.equal(err.message, 'The claw’s Mini could not be reached; try again shortly');
        return true;
      },
    );
    assert.equal((await o.claws.model({ orgSlug, clawSlug: claw.slug })).current, null);
    assert.equal(await outcome(o.claws.restart({ orgSlug, clawSlug: claw.slug })), 'SERVICE_UNAVAILABLE');
    assert.equal((await rt.store.readStream(clawStream, claw.id)).at(-1)!.type, 'ClawModelCleared');
  });
});
