'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { PageHeader } from '@/app/_components/page-header';
import { Ago } from '@/app/_components/time';
import { Button, Card, ErrorText, Field, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import styles from '../org-members.module.css';

/** Create (shown once), list with last use, revoke. */
export function ApiTokens({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useSuspenseQuery(trpc.apiTokens.list.queryOptions({ orgSlug }));
  const [name, setName] = useState('');
  const [role, setRole] = useState<'admin' | 'member'>('member');
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.apiTokens.list.queryKey({ orgSlug }) });
  const create = useMutation(
    trpc.apiTokens.create.mutationOptions({
      onSuccess: async () => {
        setName('');
        await refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.apiTokens.revoke.mutationOptions({ onSuccess: refresh }));
  return (
    <>
      <PageHeader
        title="API tokens"
        subtitle={
          <>
            Automation for <Link href={`/orgs/${orgSlug}`}>{orgSlug}</Link>: the CLI (
            <code>claws --url … </code> with <code>CLAWS_TOKEN</code>) and the typed client.
          </>
        }
      />
      <Card>
        <form
          className={styles.inviteForm}
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({ orgSlug, name, role });
          }}
        >
          <Field id="token-name" label="Name">
            <input
              id="token-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              placeholder="CI deploys"
            />
          </Field>
          <Field id="token-role" label="Role">
            <select
              id="token-role"
              value={role}
              onChange={(e) => setRole(e.target.value as 'admin' | 'member')}
            >
              <option value="member">member (create, read)</option>
              <option value="admin">admin (also delete, retry)</option>
            </select>
          </Field>
          <Button type="submit" variant="primary" disabled={create.isPending || !name.trim()}>
            Create token
          </Button>
        </form>
        {create.error && <ErrorText role="alert">{errorMessage(create.error)}</ErrorText>}
        {create.data && (
          <div className={styles.link} role="status">
            <p>
              Token <strong>{create.data.listing.name}</strong>. Copy it now: it is not shown again.
            </p>
            <code data-testid="new-token">{create.data.token}</code>
          </div>
        )}
      </Card>
      <Card as="section" className={styles.section}>
        {list.data.length === 0 ? (
          <Hint>No tokens yet.</Hint>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>Token</th>
                <th>Created</th>
                <th>Last used</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {list.data.map((t) => (
                <tr key={t.id} data-token={t.name}>
                  <td>{t.name}</td>
                  <td>{t.role}</td>
                  <td className="mono">{t.prefix}…</td>
                  <td>
                    <Ago date={t.createdAt} />
                    {t.createdBy && <span className="muted"> by {t.createdBy}</span>}
                  </td>
                  <td>{t.lastUsedAt ? <Ago date={t.lastUsedAt} /> : <span className="muted">never</span>}</td>
                  <td>
                    <div className={styles.actions}>
                      <Button
                        variant="danger"
                        onClick={() =>
                          confirm(`Revoke ${t.name}? Anything using it stops at once.`) &&
                          revoke.mutate({ orgSlug, tokenId: t.id })
                        }
                      >
                        Revoke
                      </Button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {revoke.error && <ErrorText role="alert">{errorMessage(revoke.error)}</ErrorText>}
      </Card>
    </>
  );
}
