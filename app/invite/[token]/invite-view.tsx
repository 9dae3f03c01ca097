'use client';

import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { Button, ButtonLink, Card, ErrorText, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';

const CLOSED = {
  accepted: 'This invitation was accepted already.',
  declined: 'This invitation was declined.',
  revoked: 'This invitation was withdrawn.',
  expired: 'This invitation has expired. Ask for a new one.',
} as const;

/** Accept (signed in as the invited address), decline, or sign in / sign up first. */
export function InviteView({ token }: { token: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const inv = useSuspenseQuery(trpc.invitations.get.queryOptions({ token })).data;
  const me = useQuery(trpc.auth.me.queryOptions()).data;
  const accept = useMutation(
    trpc.invitations.accept.mutationOptions({
      onSuccess: async (r) => {
        await qc.invalidateQueries({ queryKey: trpc.orgs.list.queryKey() });
        router.push(`/orgs/${r.orgSlug}`);
      },
    }),
  );
  const decline = useMutation(
    trpc.invitations.decline.mutationOptions({
      onSuccess: () => qc.invalidateQueries({ queryKey: trpc.invitations.get.queryKey({ token }) }),
    }),
  );
  const here = `/invite/${token}`;
  const carry = new URLSearchParams({ next: here, email: inv.email }).toString();
  const sameAddress = me && me.email === inv.email;
  return (
    <Card narrow data-testid="invitation">
      <h1>Join {inv.org.name}</h1>
      <p className="subtitle">
        {inv.invitedBy ?? 'An admin'} invited <strong>{inv.email}</strong> as{' '}
        {inv.role === 'admin' ? 'an admin' : 'a member'}.
      </p>
      {inv.status !== 'pending' ? (
        <Hint role="status">{CLOSED[inv.status]}</Hint>
      ) : !me ? (
        <>
          <Hint>Sign in as {inv.email} to accept. New here? Sign up with that address.</Hint>
          <div className="row">
            <ButtonLink href={`/signup?${carry}`} variant="primary">
              Sign up
            </ButtonLink>
            <ButtonLink href={`/login?${carry}`}>Log in</ButtonLink>
            <Button onClick={() => decline.mutate({ token })}>Decline</Button>
          </div>
        </>
      ) : (
        <>
          {!sameAddress && (
            <ErrorText role="alert">
              You are signed in as {me.email}. This invitation is for {inv.email}: log out and sign in with
              that address.
            </ErrorText>
          )}
          <div className="row">
            <Button
              variant="primary"
              disabled={!sameAddress || accept.isPending}
              onClick={() => accept.mutate({ token })}
            >
              Accept
            </Button>
            <Button onClick={() => decline.mutate({ token })} disabled={decline.isPending}>
              Decline
            </Button>
          </div>
        </>
      )}
      {(accept.error ?? decline.error) && (
        <ErrorText role="alert">{errorMessage(accept.error ?? decline.error)}</ErrorText>
      )}
    </Card>
  );
}
