'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Button, Dialog, DialogActions, ErrorText, Field, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';

/** Names a new claw (its address previewed as you type) and opens its page once requested. */
export function NewClawDialog({
  orgSlug,
  open,
  onClose,
}: {
  orgSlug: string;
  open: boolean;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const preview = useQuery({
    ...trpc.claws.slugPreview.queryOptions({ name }),
    enabled: name.trim().length > 0,
  });
  const create = useMutation(
    trpc.claws.create.mutationOptions({
      onSuccess: async (claw) => {
        await qc.invalidateQueries({ queryKey: trpc.claws.list.queryKey({ orgSlug }) });
        onClose();
        setName('');
        router.push(`/orgs/${orgSlug}/claws/${claw.slug}`);
      },
    }),
  );
  return (
    <Dialog open={open} onClose={onClose} title="New Claw">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ orgSlug, name });
        }}
      >
        <Field id="claw-name" label="Name">
          <input
            id="claw-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
            required
            maxLength={60}
          />
          <Hint aria-live="polite">
            {preview.data?.valid ? (
              <>
                Its address will be{' '}
                <span className="mono">
                  /{orgSlug}/claws/{preview.data.slug}
                </span>
              </>
            ) : (
              'Letters, digits and spaces; up to 60 characters.'
            )}
          </Hint>
        </Field>
        {create.error && <ErrorText role="alert">{errorMessage(create.error)}</ErrorText>}
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={create.isPending || !preview.data?.valid}>
            Create claw
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
