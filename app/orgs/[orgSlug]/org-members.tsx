'use client';

import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Button, Card, ErrorText, Field, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import styles from './org-members.module.css';

type Grantable = 'admin' | 'member';

/**
 * The organization's people: members with their roles, invitations, and what the caller's role
 * allows (owners and admins invite, change roles and remove; the owner transfers ownership;
 * everyone but the last owner can leave). The server decides; this only offers what it would allow.
 */
export function OrgMembers({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const { data } = useSuspenseQuery(trpc.orgs.members.queryOptions({ orgSlug }));
  const you = data.you;
  const manager = you.role === 'owner' || you.role === 'admin';
  const invitations = useQuery({ ...trpc.orgs.invitations.queryOptions({ orgSlug }), enabled: manager });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Grantable>('member');
  const refresh = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: trpc.orgs.members.queryKey({ orgSlug }) }),
      qc.invalidateQueries({ queryKey: trpc.orgs.invitations.queryKey({ orgSlug }) }),
    ]);
  const invite = useMutation(
    trpc.orgs.invite.mutationOptions({
      onSuccess: async () => {
        setEmail('');
        await refresh();
      },
    }),
  );
  const changeRole = useMutation(trpc.orgs.changeRole.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.orgs.removeMember.mutationOptions({ onSuccess: refresh }));
  const transfer = useMutation(trpc.orgs.transferOwnership.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.orgs.revokeInvitation.mutationOptions({ onSuccess: refresh }));
  const leave = useMutation(
    trpc.orgs.leave.mutationOptions({
      onSuccess: async () => {
        await qc.invalidateQueries({ queryKey: trpc.orgs.list.queryKey() });
        router.push('/');
      },
    }),
  );
  const failed = [changeRole, remove, transfer, revoke, leave].find((m) => m.error);

  return (
    <Card as="section" className={styles.section} aria-labelledby="members-heading" data-testid="members">
      <div className="spread">
        <h2 id="members-heading">Members</h2>
        {manager && <Link href={`/orgs/${orgSlug}/tokens`}>API tokens</Link>}
      </div>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Role</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {data.members.map((m) => {
            const self = m.id === you.userId;
            const editable = manager && !self && m.role !== 'owner';
            return (
              <tr key={m.id} data-member={m.email}>
                <td>
                  {m.name}
                  {self && <span className="muted"> (you)</span>}
                </td>
                <td className="mono">{m.email}</td>
                <td>
                  {editable ? (
                    <>
                      <label htmlFor={`role-${m.id}`} className="visually-hidden">
                        Role of {m.name}
                      </label>
                      <select
                        id={`role-${m.id}`}
                        className={styles.roleSelect}
                        value={m.role}
                        disabled={changeRole.isPending}
                        onChange={(e) =>
                          changeRole.mutate({ orgSlug, userId: m.id, role: e.target.value as Grantable })
                        }
                      >
                        <option value="member">member</option>
                        <option value="admin">admin</option>
                      </select>
                    </>
                  ) : (
                    m.role
                  )}
                </td>
                <td>
                  <div className={styles.actions}>
                    {you.role === 'owner' && !self && (
                      <Button
                        onClick={() =>
                          confirm(`Make ${m.name} the owner? You stay on as an admin.`) &&
                          transfer.mutate({ orgSlug, userId: m.id })
                        }
                      >
                        Make owner
                      </Button>
                    )}
                    {editable && (
                      <Button
                        variant="danger"
                        onClick={() =>
                          confirm(`Remove ${m.name} from ${orgSlug}? Their open chats close at once.`) &&
                          remove.mutate({ orgSlug, userId: m.id })
                        }
                      >
                        Remove
                      </Button>
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {failed?.error && <ErrorText role="alert">{errorMessage(failed.error)}</ErrorText>}

      {manager && (
        <>
          <form
            className={styles.inviteForm}
            onSubmit={(e) => {
              e.preventDefault();
              invite.mutate({ orgSlug, email, role });
            }}
          >
            <Field id="invite-email" label="Invite by email">
              <input
                id="invite-email"
                type="email"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                placeholder="colleague@example.com"
                required
              />
            </Field>
            <Field id="invite-role" label="Role">
              <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as Grantable)}>
                <option value="member">member</option>
                <option value="admin">admin</option>
              </select>
            </Field>
            <Button type="submit" variant="primary" disabled={invite.isPending || !email.trim()}>
              Send invitation
            </Button>
          </form>
          {invite.error && <ErrorText role="alert">{errorMessage(invite.error)}</ErrorText>}
          {invite.data && (
            <div className={styles.link} role="status">
              <p>
                Invitation for <strong>{invite.data.invitation.email}</strong>
                {invite.data.emailed
                  ? ' sent by email. You can also share this link:'
                  : invite.data.emailError
                    ? ` could not be e-mailed (${invite.data.emailError}); share this link yourself:`
                    : ' created; e-mail is not configured here, so share this link yourself:'}
              </p>
              <code data-testid="invite-link">{invite.data.link}</code>
              <Hint>
                It works once, only for that address, until{' '}
                {new Date(invite.data.invitation.expiresAt).toLocaleString()}.
              </Hint>
            </div>
          )}
          {invitations.data && invitations.data.length > 0 && (
            <>
              <h3>Open invitations</h3>
              <table>
                <tbody>
                  {invitations.data.map((i) => (
                    <tr key={i.id} data-invitation={i.email}>
                      <td className="mono">{i.email}</td>
                      <td>{i.role}</td>
                      <td className="muted">until {new Date(i.expiresAt).toLocaleDateString()}</td>
                      <td>
                        <div className={styles.actions}>
                          <Button onClick={() => revoke.mutate({ orgSlug, invitationId: i.id })}>
                            Withdraw
                          </Button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}

      <div className={styles.footer}>
        <Hint>
          You are {you.role === 'member' ? 'a' : 'an'} {you.role} of this organization.
          {you.role === 'owner' && ' To leave, make another member the owner first.'}
        </Hint>
        <Button
          variant="danger"
          disabled={leave.isPending}
          onClick={() => confirm(`Leave ${orgSlug}?`) && leave.mutate({ orgSlug })}
        >
          Leave organization
        </Button>
      </div>
    </Card>
  );
}
