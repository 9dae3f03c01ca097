import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { clawStream, type ClawState } from '../events/claw';
import { liveClawBySlug, liveClaws, clawsProjection } from '../projections/claws';
import { fleetMinis, miniByHostname, minisProjection } from '../projections/minis';
import {
  deleteClaw,
  metaOf,
  requestClaw,
  restartClaw,
  retryClaw,
  startClaw,
  stopClaw,
} from '../server/claws/commands';
import { loadConfig } from '../server/config';
import { CommandError } from '../events/errors';
import {
  cordonMini,
  registerMini,
  removeMini,
  unblockPort,
  uncordonMini,
  updateMini,
  type FleetCommandContext,
} from '../server/fleet/commands';
import { createLogger } from '../server/log';
import { keepRunningOnUnhandledRejections } from '../server/process-guards';
import { createOrganization, findOrganizationBySlug } from '../server/orgs/organizations';
import { startProvisioning } from '../server/provisioning';
import { createRuntime, type Runtime } from '../server/runtime';
import { grantPlatformAdmin, replaceBootstrapCode } from '../server/auth/bootstrap';
import { requestRestore, retentionOf, takeBackup } from '../server/claws/backups';
import { rotateGatewayToken } from '../server/claws/rotate-token';
import { backupsOfClaw } from '../projections/claw-backups';
import { createDeploymentServices } from '../server/deployment';
import { REMOTE_USAGE, RemoteUsageError, remoteClient, remoteErrorMessage, runRemote } from './cli/remote';

const USAGE = `Usage: npm run claws -- <command> [options] [--json]

  mini register --hostname H --agent-url https://H:7070 --agent-cert-fingerprint sha256:…
                --tunnel-suffix S --ports 20000-20099 --capacity N [--edge-port P] [--port-stride N]
                [--claw-memory-mb MB]   (memory each claw is given; placement weighs claws against it)
                (agent token from --agent-token or MINI_AGENT_TOKEN; the fingerprint is what the
                agent prints: npm run agent -- fingerprint on the Mini; --port-stride 120 for the
                real OpenClaw gateway, whose browser ports reach base + 110; --edge-port: direct mode)
  mini update <id|hostname> [--agent-url URL] [--agent-cert-fingerprint F] [--agent-token T]
                [--tunnel-suffix S] [--ports A-B] [--capacity N] [--claw-memory-mb MB|none]
                (e.g. after re-keying the agent)
  mini list
  mini cordon|uncordon|remove <id|hostname>
  mini unblock-port <id|hostname> --port P   (a port found held by another process, freed since)
  org create --slug S [--name N]
  claw create --org <slug> --name <name> [--from-backup <id>]
                                             (creates the organization if it does not exist; with
                                             --from-backup, a clone of that backup's claw)
  claw list [--org <slug>]
  claw show <id|org/slug>                    (with its timeline)
  claw delete|retry <id|org/slug>
  claw stop|start|restart <id|org/slug>      (stop keeps the claw on its Mini; start brings it back)
  claw rotate-token <id|org/slug>            (a new gateway token; the gateway restarts with it)
  claw backup <id|org/slug>                  (a backup now, into the claw's bucket)
  claw backups <id|org/slug>                 (its backups, newest first)
  claw restore <id|org/slug> --backup <id>   (rolls the claw back to that backup; the worker does it)
  keys status                                (how many secrets each key encrypts)
  keys reencrypt                             (every secret under the active key, after a rotation)
  admin bootstrap-code                       (a new one-time code for the first platform admin)
  admin grant <email>                        (makes an existing user a platform admin)
  worker                                     (runs the provisioning worker until stopped)

Local commands open the database directly (operators on the server).
${REMOTE_USAGE}`;

class UsageError extends Error {}

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    hostname: { type: 'string' },
    'agent-url': { type: 'string' },
    'agent-token': { type: 'string' },
    'agent-cert-fingerprint': { type: 'string' },
    'tunnel-suffix': { type: 'string' },
    ports: { type: 'string' },
    capacity: { type: 'string' },
    'edge-port': { type: 'string' },
    'port-stride': { type: 'string' },
    'claw-memory-mb': { type: 'string' },
    org: { type: 'string' },
    name: { type: 'string' },
    backup: { type: 'string' },
    'from-backup': { type: 'string' },
    slug: { type: 'string' },
    reason: { type: 'string' },
    port: { type: 'string' },
    url: { type: 'string' },
  },
});

function print(human: string, data: unknown) {
  console.log(opts.json ? JSON.stringify(data, null, 2) : human);
}

function need(name: keyof typeof opts): string {
  const v = opts[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

const ctxOf = (rt: Runtime): FleetCommandContext => ({
  store: rt.store,
  secrets: rt.secrets,
  actor: `system:cli`,
  correlationId: randomUUID(),
  production: rt.config.production,
});

async function findMini(rt: Runtime, ref: string | undefined) {
  if (!ref) throw new UsageError('a Mini id or hostname is required');
  const mini = /^[0-9a-f-]{36}$/.test(ref)
    ? await rt.store.load(minisProjection, ref)
    : await miniByHostname(rt.database.db, ref);
  if (!mini || mini.status === 'removed') throw new CommandError('NOT_FOUND', `Mini ${ref} not found`);
  return mini;
}

async function findClaw(rt: Runtime, ref: string | undefined): Promise<ClawState> {
  if (!ref) throw new UsageError('a claw id or org/slug is required');
  let claw: ClawState | null;
  if (ref.includes('/')) {
    const [orgSlug, clawSlug] = ref.split('/');
    const org = await findOrganizationBySlug(rt.database.db, orgSlug!);
    if (!org) throw new CommandError('NOT_FOUND', `Organization ${orgSlug} not found`);
    claw = await liveClawBySlug(rt.database.db, org.id, clawSlug!);
  } else if (/^[0-9a-f-]{36}$/.test(ref)) claw = await rt.store.load(clawsProjection, ref);
  else throw new UsageError(`"${ref}" is neither a claw id nor org/slug`);
  if (!claw) throw new CommandError('NOT_FOUND', `Claw ${ref} not found`);
  return claw;
}

const clawLine = (c: ClawState) =>
  `${c.id}  ${c.slug.padEnd(20)} ${c.status.padEnd(12)} ${c.miniPort ? `port ${c.miniPort}` : ''}${c.lastError ? `  (${c.lastError})` : ''}`;

async function main(rt: Runtime, [group, action, ref]: string[]): Promise<void> {
  const db = rt.database.db;
  const ctx = ctxOf(rt);
  switch (`${group} ${action ?? ''}`.trim()) {
    case 'mini register': {
      const [start, end] = need('ports').split('-').map(Number);
      const token = opts['agent-token'] ?? rt.config.MINI_AGENT_TOKEN;
      if (!token) throw new UsageError('--agent-token or MINI_AGENT_TOKEN is required');
      const mini = await registerMini(ctx, {
        hostname: need('hostname'),
        agentUrl: need('agent-url'),
        ...(opts['agent-cert-fingerprint'] ? { agentCertFingerprint: opts['agent-cert-fingerprint'] } : {}),
        agentToken: token,
        tunnelSuffix: need('tunnel-suffix'),
        portRangeStart: start!,
        portRangeEnd: end ?? start!,
        capacity: Number(need('capacity')),
        ...(opts['edge-port'] ? { edgePort: Number(opts['edge-port']) } : {}),
        ...(opts['port-stride'] ? { portStride: Number(opts['port-stride']) } : {}),
        ...(opts['claw-memory-mb'] ? { clawMemoryMb: Number(opts['claw-memory-mb']) } : {}),
      });
      return print(`Registered Mini ${mini.hostname} (${mini.id})`, mini);
    }
    case 'mini update': {
      const mini = await findMini(rt, ref);
      const [start, end] = opts.ports ? opts.ports.split('-').map(Number) : [];
      const changes = {
        ...(opts['agent-url'] ? { agentUrl: opts['agent-url'] } : {}),
        ...(opts['agent-cert-fingerprint'] ? { agentCertFingerprint: opts['agent-cert-fingerprint'] } : {}),
        ...(opts['agent-token'] ? { agentToken: opts['agent-token'] } : {}),
        ...(opts['tunnel-suffix'] ? { tunnelSuffix: opts['tunnel-suffix'] } : {}),
        ...(start !== undefined ? { portRangeStart: start, portRangeEnd: end ?? start } : {}),
        ...(opts.capacity ? { capacity: Number(opts.capacity) } : {}),
        ...(opts['claw-memory-mb']
          ? { clawMemoryMb: opts['claw-memory-mb'] === 'none' ? null : Number(opts['claw-memory-mb']) }
          : {}),
      };
      if (Object.keys(changes).length === 0) throw new UsageError('mini update: nothing to change');
      const updated = await updateMini(ctx, mini.id, changes);
      return print(`Updated Mini ${updated.hostname} (version ${updated.version})`, updated);
    }
    case 'mini list': {
      const minis = await fleetMinis(db, { includeRemoved: true });
      return print(
        minis
          .map(
            (m) =>
              `${m.id}  ${m.hostname.padEnd(24)} ${m.status.padEnd(8)}${m.cordoned ? ' cordoned' : ''}  ${m.allocated}/${m.capacity}  ports ${m.portRangeStart}-${m.portRangeEnd}`,
          )
          .join('\n') || 'No Minis registered.',
        minis,
      );
    }
    case 'mini cordon':
      return print('Cordoned.', await cordonMini(ctx, (await findMini(rt, ref)).id, opts.reason));
    case 'mini uncordon':
      return print('Uncordoned.', await uncordonMini(ctx, (await findMini(rt, ref)).id));
    case 'mini unblock-port':
      return print(
        `Port ${need('port')} unblocked.`,
        await unblockPort(ctx, (await findMini(rt, ref)).id, Number(need('port'))),
      );
    case 'mini remove':
      return print('Removed.', await removeMini(ctx, (await findMini(rt, ref)).id));
    case 'org create': {
      const org = await createOrganization(db, { slug: need('slug'), name: opts.name ?? need('slug') });
      return print(`Created organization ${org.slug} (${org.id})`, org);
    }
    case 'claw create': {
      const slug = need('org');
      let org = await findOrganizationBySlug(db, slug);
      if (!org) {
        org = await createOrganization(db, { slug, name: slug });
        if (!opts.json) console.log(`Created organization ${slug}`);
      }
      const claw = await requestClaw(ctx, {
        orgId: org.id,
        name: need('name'),
        target: rt.config.DEPLOYMENT_TARGET,
        ...(opts['from-backup'] ? { fromBackup: opts['from-backup'] } : {}),
      });
      return print(`Requested claw ${org.slug}/${claw.slug} (${claw.id}); the worker provisions it.`, claw);
    }
    case 'claw list': {
      let orgId: string | null = null;
      if (opts.org) {
        const org = await findOrganizationBySlug(db, opts.org);
        if (!org) throw new CommandError('NOT_FOUND', `Organization ${opts.org} not found`);
        orgId = org.id;
      }
      const claws = (await liveClaws(db, orgId)).reverse(); // oldest first, as a list reads
      return print(claws.map(clawLine).join('\n') || 'No claws.', claws);
    }
    case 'claw show': {
      const claw = await findClaw(rt, ref);
      const timeline = await rt.store.readStream(clawStream, claw.id);
      const lines = timeline.map(
        (e) =>
          `  ${String(e.streamVersion).padStart(3)} ${e.createdAt.toISOString()} ${e.type.padEnd(24)} ${e.actor}`,
      );
      return print(`${clawLine(claw)}\n${lines.join('\n')}`, { claw, timeline });
    }
    case 'claw delete':
      return print('Deletion requested.', await deleteClaw(ctx, (await findClaw(rt, ref)).id));
    case 'claw retry':
      return print('Retry requested.', await retryClaw(ctx, (await findClaw(rt, ref)).id));
    case 'claw stop':
      return print('Stop requested.', await stopClaw(ctx, (await findClaw(rt, ref)).id));
    case 'claw start':
      return print('Start requested.', await startClaw(ctx, (await findClaw(rt, ref)).id));
    case 'claw restart': {
      const claw = await findClaw(rt, ref);
      return print('Restarted.', await restartClaw(ctx, createDeploymentServices(rt).agents, claw.id));
    }
    case 'claw backup': {
      const claw = await findClaw(rt, ref);
      const deps = {
        store: rt.store,
        buckets: rt.buckets,
        agents: createDeploymentServices(rt).agents,
        retention: retentionOf(rt.config),
      };
      const b = await takeBackup(deps, metaOf(ctx), claw.id, 'manual');
      return print(`Backup ${b.backupId} of ${claw.slug}: ${b.bytes} bytes, sha256 ${b.sha256}.`, b);
    }
    case 'claw backups': {
      const backups = await backupsOfClaw(db, (await findClaw(rt, ref)).id);
      const lines = backups.map(
        (b) => `${b.backupId}  ${b.takenAt.toISOString()}  ${String(b.bytes).padStart(12)} B  ${b.kind}`,
      );
      return print(lines.join('\n') || 'No backups.', backups);
    }
    case 'claw restore': {
      const claw = await findClaw(rt, ref);
      return print('Restore requested.', await requestRestore(ctx, claw.id, need('backup')));
    }
    case 'claw rotate-token': {
      const claw = await findClaw(rt, ref);
      const r = await rotateGatewayToken(ctx, createDeploymentServices(rt).agents, claw.id);
      return print(`New gateway token ${r.fingerprint} for ${claw.slug}; gateway ${r.status}.`, {
        clawId: claw.id,
        fingerprint: r.fingerprint,
        gateway: r.status,
      });
    }
    case 'keys status': {
      const usage = await rt.secrets.keyUsage();
      const lines = Object.entries(usage).map(
        ([id, n]) =>
          `${id.padEnd(16)} ${String(n).padStart(5)} secrets${id === rt.keyRing.activeId ? '  (active)' : ''}`,
      );
      return print(lines.join('\n') || 'No secrets.', { active: rt.keyRing.activeId, usage });
    }
    case 'keys reencrypt': {
      const r = await rt.secrets.reencryptAll();
      return print(
        `Re-encrypted ${r.reencrypted} secrets under ${rt.keyRing.activeId}; ${r.remaining} still under older keys.`,
        { active: rt.keyRing.activeId, ...r },
      );
    }
    case 'admin bootstrap-code': {
      const code = await replaceBootstrapCode(db);
      return print(`One-time bootstrap code (enter it at /bootstrap, signed in): ${code}`, { code });
    }
    case 'admin grant': {
      const email = ref;
      if (!email) throw new UsageError('an email is required');
      if (!(await grantPlatformAdmin(db, email))) throw new CommandError('NOT_FOUND', `No user ${email}`);
      return print(`${email} is a platform admin.`, { email });
    }
    case 'worker': {
      const log = createLogger(rt.config.LOG_LEVEL);
      // A worker rides out a database restart: its loops retry on their next round.
      keepRunningOnUnhandledRejections(log);
      const handle = await startProvisioning(rt, log);
      console.log(`Provisioning worker ${handle.worker.id} running; Ctrl-C to stop.`);
      // Its loops' timers are unref'd and a database restart closes every socket: without a handle
      // of its own the process would simply end while the database is away.
      const alive = setInterval(() => {}, 1 << 30);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(alive);
      await handle.stop();
      return;
    }
    default:
      throw new UsageError(
        group ? `Unknown command: ${[group, action].filter(Boolean).join(' ')}` : 'No command given',
      );
  }
}

const url = opts.url ?? process.env.CLAWS_URL;
if (opts.help) {
  console.log(USAGE);
} else if (url) {
  try {
    const token = process.env.CLAWS_TOKEN;
    if (!token)
      throw new RemoteUsageError('CLAWS_TOKEN is required with --url (an API token of the organization)');
    await runRemote(
      remoteClient(url, token),
      positionals,
      { name: opts.name, org: opts.org, backup: opts.backup, fromBackup: opts['from-backup'] },
      print,
    );
  } catch (err) {
    console.error(`error: ${remoteErrorMessage(err)}`);
    if (err instanceof RemoteUsageError) console.error(`\n${REMOTE_USAGE}`);
    process.exitCode = 1;
  }
} else {
  let runtime: Runtime | undefined;
  try {
    runtime = await createRuntime(loadConfig(), {
      component: positionals[0] === 'worker' ? 'worker' : 'cli',
    });
    await main(runtime, positionals);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`error: ${message}`);
    if (err instanceof UsageError) console.error(`\n${USAGE}`);
    process.exitCode = 1;
  } finally {
    await runtime?.close();
  }
}
