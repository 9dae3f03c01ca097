'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { ModelFactsList, ModelForm } from '@/app/_components/model-form';
import { Button, Card, ErrorText, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';

/**
 * The organization's default model: every claw without a model of its own answers with it. Saving
 * restarts the running claws that inherit it (each timeline records ClawModelSet, inherited).
 */
export function OrgModel({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { data } = useSuspenseQuery(trpc.claws.defaultModel.queryOptions({ orgSlug }));
  const refresh = () =>
    void qc.invalidateQueries({ queryKey: trpc.claws.defaultModel.queryKey({ orgSlug }) });
  const save = useMutation(trpc.claws.setDefaultModel.mutationOptions({ onSuccess: refresh }));
  const clear = useMutation(trpc.claws.clearDefaultModel.mutationOptions({ onSuccess: refresh }));
  const outcome = save.data ?? clear.data;

  return (
    <Card as="section" aria-labelledby="org-model-heading" data-testid="org-model">
      <h2 id="org-model-heading">Default model</h2>
      <Hint>Claws without a model of their own answer with this one.</Hint>
      {data.current ? (
        <ModelFactsList
          facts={data.current}
          testId="org-model-current"
          keyTestId="org-model-key-fingerprint"
        />
      ) : (
        <Hint role="status">No default model.</Hint>
      )}
      {data.canChange && (
        <ModelForm
          idPrefix="org-model"
          label="Default model settings"
          providers={data.providers}
          current={data.current}
          storedKey={data.current !== null}
          saving={save.isPending}
          submitLabel="Save default"
          onSave={(settings, done) => save.mutate({ orgSlug, settings }, { onSuccess: done })}
        >
          {data.current && (
            <Button
              type="button"
              disabled={clear.isPending}
              onClick={() => {
                if (window.confirm('Remove the default model? Claws that inherit it will not answer.'))
                  clear.mutate({ orgSlug });
              }}
            >
              Remove
            </Button>
          )}
        </ModelForm>
      )}
      {outcome && (
        <Hint role="status" data-testid="org-model-saved">
          {outcome.inheriting === 0
            ? 'Saved. No claw inherits it yet.'
            : `Saved; ${outcome.restarted} of ${outcome.inheriting} claws inheriting it restarted with it.`}
        </Hint>
      )}
      {(save.error || clear.error) && (
        <ErrorText role="alert">{errorMessage(save.error ?? clear.error)}</ErrorText>
      )}
    </Card>
  );
}
