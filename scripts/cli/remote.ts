import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../../server/trpc/routers/_app';

/**
 * `claws --url https://claws.example.com …` with CLAWS_TOKEN: the CLI as an API client of a remote
 * server, through the typed tRPC client and an organization's API token (never read from the
 * command line, where `ps` would show it). The commands are the ones that make sense remotely:
 * an organization's claws.
 */
export const REMOTE_USAGE = `Remote (with --url <server> and CLAWS_TOKEN=claws_…, an organization's API token):
  whoami                                     (the token's organization and role)
  claw list                                  
  claw show <slug>                           (with its timeline)
  claw create --name <name> [--from-backup <id>]
  claw delete|retry|stop|start|restart <slug>
  claw backup|backups <slug>
  claw restore <slug> --backup <id>`;

export class RemoteUsageError extends Error {}

export function remoteClient(url: string, token: string) {
  const base = url.replace(/\/+$/, '');
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${base}/api/trpc`,
        transformer: superjson,
        headers: { authorization: `Bearer ${token}`, 'x-claws-csrf': '1' },
      }),
    ],
  });
}

type Client = ReturnType<typeof remoteClient>;
type Print = (human: string, data: unknown) => void;

/** `org/slug` or `slug`: the org must be the token's own (the server says NOT_FOUND otherwise). */
function clawRef(ref: string | undefined, org: string): { orgSlug: string; clawSlug: string } {
  if (!ref) throw new RemoteUsageError('a claw slug is required');
  const [a, b] = ref.includes('/') ? ref.split('/') : [org, ref];
  return { orgSlug: a!, clawSlug: b! };
}

export async function runRemote(
  client: Client,
  [group, action, ref]: string[],
  opts: { name?: string; org?: string; backup?: string; fromBackup?: string },
  print: Print,
): Promise<void> {
  const me = await client.apiTokens.whoami.query();
  const org = opts.org ?? me.org.slug;
  const line = (c: { slug: string; status: string; port: number | null; lastError: string | null }) =>
    `${c.slug.padEnd(24)} ${c.status.padEnd(12)} ${c.port ? `port ${c.port}` : ''}${c.lastError ? `  (${c.lastError})` : ''}`;
  switch (`${group} ${action ?? ''}`.trim()) {
    case 'whoami':
      return print(`Token "${me.name}" (${me.role}) of ${me.org.name} (${me.org.slug})`, me);
    case 'claw list': {
      const claws = await client.claws.list.query({ orgSlug: org });
      return print(claws.map(line).join('\n') || 'No claws.', claws);
    }
    case 'claw show': {
      const r = clawRef(ref, org);
      const [claw, timeline] = await Promise.all([client.claws.get.query(r), client.claws.timeline.query(r)]);
      const lines = timeline.map(
        (e) =>
          `  ${String(e.version).padStart(3)} ${new Date(e.at).toISOString()} ${e.type.padEnd(24)} ${e.actor}`,
      );
      return print(`${line(claw)}\n${lines.join('\n')}`, { claw, timeline });
    }
    case 'claw create': {
      if (!opts.name) throw new RemoteUsageError('--name is required');
      const claw = await client.claws.create.mutate({
        orgSlug: org,
        name: opts.name,
        ...(opts.fromBackup ? { fromBackup: opts.fromBackup } : {}),
      });
      return print(`Requested claw ${org}/${claw.slug}; the server provisions it.`, claw);
    }
    case 'claw delete':
      return print('Deletion requested.', await client.claws.delete.mutate(clawRef(ref, org)));
    case 'claw retry':
      return print('Retry requested.', await client.claws.retry.mutate(clawRef(ref, org)));
    case 'claw stop':
      return print('Stop requested.', await client.claws.stop.mutate(clawRef(ref, org)));
    case 'claw start':
      return print('Start requested.', await client.claws.start.mutate(clawRef(ref, org)));
    case 'claw restart':
      return print('Restarted.', await client.claws.restart.mutate(clawRef(ref, org)));
    case 'claw backup': {
      const b = await client.claws.backupNow.mutate(clawRef(ref, org));
      return print(`Backup ${b.backupId}: ${b.bytes} bytes.`, b);
    }
    case 'claw backups': {
      const { backups } = await client.claws.backups.query(clawRef(ref, org));
      const lines = backups.map(
        (b) =>
          `${b.backupId}  ${new Date(b.takenAt).toISOString()}  ${String(b.bytes).padStart(12)} B  ${b.kind}`,
      );
      return print(lines.join('\n') || 'No backups.', backups);
    }
    case 'claw restore': {
      if (!opts.backup) throw new RemoteUsageError('--backup <id> is required');
      const r = { ...clawRef(ref, org), backupId: opts.backup };
      return print('Restore requested.', await client.claws.restore.mutate(r));
    }
    default:
      throw new RemoteUsageError(
        group ? `Not available remotely: ${[group, action].filter(Boolean).join(' ')}` : 'No command given',
      );
  }
}

/** A remote failure in one line: the server's message (never a stack), or why it could not be reached. */
export function remoteErrorMessage(err: unknown): string {
  if (err instanceof TRPCClientError) {
    const code = (err.data as { code?: string } | undefined)?.code;
    return code
      ? `${err.message} (${code})`
      : `the server could not be reached or answered oddly: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
