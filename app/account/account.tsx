'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { PageHeader } from '@/app/_components/page-header';
import { Ago } from '@/app/_components/time';
import { Button, Card, ErrorText, Field, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import styles from '@/app/orgs/[orgSlug]/org-members.module.css';

/** Where you are signed in (end any of it), and your password (changing it ends the others). */
export function Account() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const sessions = useSuspenseQuery(trpc.account.sessions.queryOptions());
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.account.sessions.queryKey() });
  const revoke = useMutation(trpc.account.revokeSession.mutationOptions({ onSuccess: refresh }));
  const revokeOthers = useMutation(trpc.account.revokeOtherSessions.mutationOptions({ onSuccess: refresh }));
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: async () => {
        setCurrent('');
        setNext('');
        await refresh();
      },
    }),
  );
  return (
    <>
      <PageHeader title="Your account" subtitle="Sessions and password." />
      <Card as="section" aria-labelledby="sessions-heading">
        <div className="spread">
          <h2 id="sessions-heading">Where you are signed in</h2>
          <Button
            onClick={() => revokeOthers.mutate()}
            disabled={sessions.data.length < 2 || revokeOthers.isPending}
          >
            Sign out everywhere else
          </Button>
        </div>
        <table data-testid="sessions">
          <thead>
            <tr>
              <th>Browser</th>
              <th>Address</th>
              <th>Signed in</th>
              <th>Last active</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {sessions.data.map((s) => (
              <tr key={s.id} data-session={s.current ? 'current' : 'other'}>
                <td>{s.userAgent ?? <span className="muted">unknown</span>}</td>
                <td className="mono">{s.clientAddress ?? '—'}</td>
                <td>
                  <Ago date={s.createdAt} />
                </td>
                <td>
                  <Ago date={s.lastSeenAt} />
                </td>
                <td>
                  <div className={styles.actions}>
                    {s.current ? (
                      <span className="muted">this browser</span>
                    ) : (
                      <Button variant="danger" onClick={() => revoke.mutate({ sessionId: s.id })}>
                        Sign out
                      </Button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {(revoke.error ?? revokeOthers.error) && (
          <ErrorText role="alert">{errorMessage(revoke.error ?? revokeOthers.error)}</ErrorText>
        )}
      </Card>
      <Card as="section" className={styles.section} aria-labelledby="password-heading">
        <h2 id="password-heading">Change password</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            change.mutate({ currentPassword: current, newPassword: next });
          }}
        >
          <Field id="current-password" label="Current password">
            <input
              id="current-password"
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
              required
            />
          </Field>
          <Field
            id="new-password"
            label="New password"
            hint="At least 8 characters. Your other sessions end."
          >
            <input
              id="new-password"
              type="password"
              autoComplete="new-password"
              value={next}
              onChange={(e) => setNext(e.target.value)}
              required
              minLength={8}
            />
          </Field>
          {change.error && <ErrorText role="alert">{errorMessage(change.error)}</ErrorText>}
          {change.data && (
            <Hint role="status">
              Password changed; {change.data.otherSessionsEnded} other session
              {change.data.otherSessionsEnded === 1 ? '' : 's'} ended.
            </Hint>
          )}
          <Button type="submit" variant="primary" disabled={change.isPending}>
            Change password
          </Button>
        </form>
      </Card>
    </>
  );
}
