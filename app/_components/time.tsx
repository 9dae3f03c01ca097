'use client';

import { useSyncExternalStore } from 'react';
import { ago } from '@/app/_lib/format';

const noSubscription = () => () => {};
/** False while the server renders and while the browser hydrates that HTML; true afterwards. */
const useHydrated = () =>
  useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );

/**
 * A moment in the reader's own time zone and locale. The server does not know those, so its HTML
 * (and the hydration of it) says the UTC time; the local one replaces it right after.
 */
export function LocalTime({ date }: { date: Date | string }) {
  const d = new Date(date);
  const hydrated = useHydrated();
  return (
    <time dateTime={d.toISOString()}>
      {hydrated ? d.toLocaleString() : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`}
    </time>
  );
}

/** "12 s ago": as of the render, so the server's text may be a second older than the browser's. */
export function Ago({ date }: { date: Date | string | null | undefined }) {
  return <span suppressHydrationWarning>{ago(date)}</span>;
}
