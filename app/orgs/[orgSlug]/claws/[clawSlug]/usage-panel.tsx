'use client';

import { useSubscription } from '@trpc/tanstack-react-query';
import { useState } from 'react';
import { Card, Hint } from '@/app/_components/ui';
import { bytes } from '@/app/_lib/format';
import { useTRPC } from '@/app/_trpc/client';
import styles from './usage-panel.module.css';

type Sample = { at: string | Date; rssBytes: number; cpuPercent: number; processes: number };
type Usage = { diskBytes: number; samples: Sample[] };

/**
 * What the claw uses on its Mini: memory and CPU of all its processes over the last ten minutes
 * (the agent samples every 10 s) as small sparklines, and the disk its directory takes. Pushed by
 * the server as the agent takes samples; nothing is polled from the page.
 */
export function UsagePanel({
  orgSlug,
  clawSlug,
  running,
}: {
  orgSlug: string;
  clawSlug: string;
  running: boolean;
}) {
  const trpc = useTRPC();
  const [usage, setUsage] = useState<Usage | null>(null);
  useSubscription(
    trpc.claws.onUsage.subscriptionOptions({ orgSlug, clawSlug }, { enabled: running, onData: setUsage }),
  );
  const last = usage?.samples.at(-1);
  return (
    <Card as="section" aria-label="Resources">
      <h2>Resources</h2>
      {!running ? (
        <Hint>Not running: it uses no memory or CPU.</Hint>
      ) : !last ? (
        <Hint data-testid="usage-none">Waiting for the Mini’s first sample…</Hint>
      ) : (
        <dl className={styles.facts} data-testid="usage">
          <dt>Memory</dt>
          <dd>
            <span data-testid="usage-memory">{bytes(last.rssBytes)}</span>
            <Sparkline values={usage!.samples.map((s) => s.rssBytes)} label="Memory, last 10 minutes" />
          </dd>
          <dt>CPU</dt>
          <dd>
            <span>{last.cpuPercent.toFixed(1)} %</span>
            <Sparkline values={usage!.samples.map((s) => s.cpuPercent)} label="CPU, last 10 minutes" />
          </dd>
          <dt>Processes</dt>
          <dd>{last.processes}</dd>
          <dt>Disk</dt>
          <dd>{bytes(usage!.diskBytes)}</dd>
        </dl>
      )}
    </Card>
  );
}

function Sparkline({ values, label }: { values: number[]; label: string }) {
  const w = 120;
  const h = 24;
  if (values.length < 2) return null;
  const max = Math.max(...values, 1e-9);
  const points = values
    .map(
      (v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(h - (v / max) * (h - 2) - 1).toFixed(1)}`,
    )
    .join(' ');
  return (
    <svg
      className={styles.spark}
      width={w}
      height={h}
      viewBox={`0 0 ${w} ${h}`}
      role="img"
      aria-label={label}
    >
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}
