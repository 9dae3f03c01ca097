'use client';

import { useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useRef, useState } from 'react';
import { Card, ErrorText, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import styles from './logs-panel.module.css';

type Level = 'debug' | 'info' | 'warn' | 'error';
type Line = { text: string; level: Level | null; at: string | null };
const KEEP = 2000;

/**
 * The claw's gateway output, for owners and admins: nothing is fetched until the panel is opened;
 * then the tail, and, while it stays open, every new line as the Mini's agent sees it (redacted
 * there: no token or key ever reaches the page). The level filter is applied by the server.
 */
export function LogsPanel({ orgSlug, clawSlug }: { orgSlug: string; clawSlug: string }) {
  const trpc = useTRPC();
  // Who may read logs is who may change the claw's backups: its owners and admins.
  const { canChange } = useSuspenseQuery(trpc.claws.backups.queryOptions({ orgSlug, clawSlug })).data;
  const [open, setOpen] = useState(false);
  const [level, setLevel] = useState<Level | ''>('');
  const [lines, setLines] = useState<Line[]>([]);
  const [followError, setFollowError] = useState<string | null>(null);
  const input = { orgSlug, clawSlug, limit: 300, ...(level ? { level } : {}) };
  const tail = useQuery({ ...trpc.claws.logs.queryOptions(input), enabled: open && canChange });
  useEffect(() => {
    if (tail.data) setLines(tail.data.lines);
  }, [tail.data]);
  useSubscription(
    trpc.claws.onLogs.subscriptionOptions(
      {
        orgSlug,
        clawSlug,
        after: tail.data?.offset ?? 0,
        file: tail.data?.file ?? 0,
        ...(level ? { level } : {}),
      },
      {
        enabled: open && canChange && tail.isSuccess,
        onData: (batch) => {
          setFollowError(batch.error);
          if (batch.lines.length) setLines((old) => [...old, ...batch.lines].slice(-KEEP));
        },
      },
    ),
  );
  const bottom = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = bottom.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [lines]);

  if (!canChange) return null;
  return (
    <Card as="section" aria-label="Logs">
      <details onToggle={(e) => setOpen(e.currentTarget.open)}>
        <summary className={styles.summary}>
          <h2>Logs</h2>
        </summary>
        <div className={styles.bar}>
          <label>
            Level{' '}
            <select value={level} onChange={(e) => setLevel(e.target.value as Level | '')}>
              <option value="">all</option>
              <option value="info">info and above</option>
              <option value="warn">warnings and errors</option>
              <option value="error">errors</option>
            </select>
          </label>
          <Hint>{tail.isFetching ? 'Loading…' : 'Following the gateway’s output'}</Hint>
        </div>
        {tail.error && <ErrorText role="alert">{errorMessage(tail.error)}</ErrorText>}
        {followError && <ErrorText role="status">{followError}</ErrorText>}
        {tail.isSuccess && lines.length === 0 ? (
          <Hint data-testid="logs-empty">No output yet.</Hint>
        ) : (
          <pre ref={bottom} className={styles.lines} data-testid="logs" tabIndex={0}>
            {lines.map((l, i) => (
              <span key={i} className={l.level ? styles[l.level] : undefined} data-level={l.level ?? ''}>
                {l.text}
                {'\n'}
              </span>
            ))}
          </pre>
        )}
      </details>
    </Card>
  );
}
