'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Button, Card, ErrorText, Field } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';

/** Creates an organization, with the caller as its owner, and opens it. */
export function NewOrgForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const create = useMutation(
    trpc.orgs.create.mutationOptions({
      onSuccess: async (org) => {
        await qc.invalidateQueries({ queryKey: trpc.orgs.list.queryKey() });
        router.push(`/orgs/${org.slug}`);
      },
    }),
  );
  return (
    <Card narrow>
      <h1>New organization</h1>
      <p className="subtitle">Claws belong to an organization; you will be its owner.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name });
        }}
      >
        <Field id="org-name" label="Name">
          <input id="org-name" value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        </Field>
        {create.error && <ErrorText role="alert">{errorMessage(create.error)}</ErrorText>}
        <Button type="submit" variant="primary" disabled={create.isPending || !name.trim()}>
          Create organization
        </Button>
      </form>
    </Card>
  );
}
