'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useRef } from 'react';
import { Ago, LocalTime } from '@/app/_components/time';
import { Button, Card, ErrorText, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { bytes, period } from '@/app/_lib/format';
import { useTRPC } from '@/app/_trpc/client';
import styles from './backups-panel.module.css';

const KIND_LABEL = { scheduled: 'Scheduled', manual: 'On demand', before_stop: 'Before stop' } as const;

/**
 * The claw's backups in its bucket, newest first, with age and size; a warning when the newest is
 * older than twice the fleet's interval. Owners and admins back up now and roll back to a backup
 * (the worker restores it; the timeline records ClawRestoreRequested and ClawRestored). The list
 * follows the claw: a new version of it (a backup taken, pruned, restored) reloads it.
 */
export function BackupsPanel({
  orgSlug,
  clawSlug,
  clawName,
  clawVersion,
  clawStatus,
}: {
  orgSlug: string;
  clawSlug: string;
  clawName: string;
  clawVersion: number;
  clawStatus: string;
}) {
  const router = useRouter();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const key = trpc.claws.backups.queryKey({ orgSlug, clawSlug });
  const query = useSuspenseQuery(trpc.claws.backups.queryOptions({ orgSlug, clawSlug }));
  // Reload when the claw moves on (not on mount: the page's HTML already carries the list).
  const seenVersion = useRef(clawVersion);
  useEffect(() => {
    if (seenVersion.current === clawVersion) return;
    seenVersion.current = clawVersion;
    void qc.invalidateQueries({ queryKey: key });
  }, [clawVersion]);
  const refresh = () => void qc.invalidateQueries({ queryKey: key });
  const backupNow = useMutation(trpc.claws.backupNow.mutationOptions({ onSettled: refresh }));
  const restore = useMutation(trpc.claws.restore.mutationOptions({ onSettled: refresh }));
  // A clone is a new claw of the organization, started from the backup; its page is where it goes.
  const clone = useMutation(
    trpc.claws.create.mutationOptions({
      onSuccess: (c) => router.push(`/orgs/${orgSlug}/claws/${c.slug}`),
    }),
  );

  if (query.error)
    return (
      <Card as="section" aria-label="Backups">
        <h2>Backups</h2>
        <ErrorText role="alert">{errorMessage(query.error)}</ErrorText>
      </Card>
    );
  const { backups, overdue, intervalMs, canChange } = query.data;
  const restoring = clawStatus === 'restoring';
  const canBackUp = ['active', 'degraded', 'stopped'].includes(clawStatus);
  const error = backupNow.error ?? restore.error ?? clone.error;

  return (
    <Card as="section" aria-label="Backups">
      <h2>Backups</h2>
      <Hint>Every {period(intervalMs)}, into the claw’s own bucket.</Hint>
      {overdue && (
        <ErrorText role="status" data-testid="backup-overdue">
          The newest backup is older than {period(2 * intervalMs)}.
        </ErrorText>
      )}
      {restoring && (
        <Hint role="status" data-testid="backup-restoring">
          Restoring a backup; the claw starts again once it is in place.
        </Hint>
      )}
      {backups.length === 0 ? (
        <Hint data-testid="backups-none">No backups yet.</Hint>
      ) : (
        <ul className={styles.list} data-testid="backups">
          {backups.map((b) => (
            <li key={b.backupId} className={styles.item} data-testid="backup">
              <span>
                <Ago date={b.takenAt} /> · {bytes(b.bytes)} · {KIND_LABEL[b.kind]}
              </span>
              <span className="muted">
                <LocalTime date={b.takenAt} />
              </span>
              <span className={styles.buttons}>
                <Button
                  variant="default"
                  disabled={clone.isPending}
                  onClick={() => {
                    const name = window.prompt('Name of the new claw', `${clawName} copy`);
                    if (name?.trim())
                      clone.mutate({ orgSlug, name: name.trim().slice(0, 60), fromBackup: b.backupId });
                  }}
                >
                  Clone
                </Button>
                {canChange && (
                  <Button
                    variant="default"
                    disabled={restoring || !canBackUp || restore.isPending}
                    onClick={() => {
                      if (
                        window.confirm('Roll the claw back to this backup? What it did since then is lost.')
                      )
                        restore.mutate({ orgSlug, clawSlug, backupId: b.backupId });
                    }}
                  >
                    Restore
                  </Button>
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
      {canChange && (
        <div className={styles.actions}>
          <Button
            disabled={!canBackUp || backupNow.isPending}
            onClick={() => backupNow.mutate({ orgSlug, clawSlug })}
          >
            {backupNow.isPending ? 'Backing up…' : 'Back up now'}
          </Button>
        </div>
      )}
      {error && <ErrorText role="alert">{errorMessage(error)}</ErrorText>}
    </Card>
  );
}
