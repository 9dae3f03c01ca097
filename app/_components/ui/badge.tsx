import type { ComponentProps } from 'react';
import { cx } from './cx';
import styles from './badge.module.css';

export type BadgeTone = 'neutral' | 'ok' | 'info' | 'warn' | 'bad';

/** The tone of each status a claw or a Mini shows; anything else is neutral. */
const STATUS_TONES: Record<string, BadgeTone> = {
  active: 'ok',
  online: 'ok',
  requested: 'info',
  provisioning: 'info',
  deleting: 'warn',
  stopping: 'warn',
  stopped: 'neutral',
  cordoned: 'warn',
  degraded: 'warn',
  failed: 'bad',
  offline: 'bad',
  lost: 'bad',
};
export const toneOf = (status: string): BadgeTone => STATUS_TONES[status] ?? 'neutral';

/** A pill with a dot in the colour of its tone. */
export function Badge({ tone, className, ...props }: ComponentProps<'span'> & { tone: BadgeTone }) {
  return <span className={cx(styles.badge, tone !== 'neutral' && styles[tone], className)} {...props} />;
}
