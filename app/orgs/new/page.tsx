'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { errorMessage } from '../../_lib/errors';
import { useTRPC } from '../../_trpc/client';

export default function NewOrgPage() {
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
    <div className="auth-box card">
      <h1>New organization</h1>
      <p className="subtitle">Claws belong to an organization; you will be its owner.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name });
        }}
      >
        <div className="field">
          <label htmlFor="org-name">Name</label>
          <input id="org-name" value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        </div>
        {create.error && (
          <p className="error" role="alert">
            {errorMessage(create.error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={create.isPending || !name.trim()}>
          Create organization
        </button>
      </form>
    </div>
  );
}
