'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { Button, Card, ErrorText, Field, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';

/** Redeems the one-time code the server printed at its first start: you become platform admin. */
export function BootstrapForm() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const me = useQuery(trpc.auth.me.queryOptions()).data;
  const [code, setCode] = useState('');
  const redeem = useMutation(
    trpc.platform.redeemBootstrap.mutationOptions({ onSuccess: () => qc.invalidateQueries() }),
  );
  return (
    <Card narrow>
      <h1>Become platform admin</h1>
      <p className="subtitle">Enter the one-time code the server printed when it first started.</p>
      {!me ? (
        <Hint>
          <Link href="/login?next=/bootstrap">Log in</Link> or{' '}
          <Link href="/signup?next=/bootstrap">sign up</Link> first.
        </Hint>
      ) : me.is_platform_admin ? (
        <Hint role="status">
          You are a platform admin. <Link href="/fleet">Open the fleet</Link>.
        </Hint>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            redeem.mutate({ code });
          }}
        >
          <Field id="bootstrap-code" label="Bootstrap code">
            <input
              id="bootstrap-code"
              className="mono"
              value={code}
              onChange={(e) => setCode(e.target.value)}
              autoComplete="off"
              required
            />
          </Field>
          {redeem.error && <ErrorText role="alert">{errorMessage(redeem.error)}</ErrorText>}
          <Button type="submit" variant="primary" disabled={redeem.isPending || !code.trim()}>
            Redeem
          </Button>
        </form>
      )}
    </Card>
  );
}
