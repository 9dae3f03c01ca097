'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { ModelFactsList, ModelForm } from '@/app/_components/model-form';
import { Button, Card, ErrorText, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';

/**
 * The claw's model: provider, model and API key, its own or the organization's default it
 * inherits. The key is write-only: the page shows its fingerprint, and an empty key field keeps the
 * stored one. Saving restarts a running claw's gateway with the new model (the timeline records
 * ClawModelSet). Members see it; owners and admins change it.
 */
export function ModelPanel({ orgSlug, clawSlug }: { orgSlug: string; clawSlug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const query = useSuspenseQuery(trpc.claws.model.queryOptions({ orgSlug, clawSlug }));
  const refresh = () =>
    void qc.invalidateQueries({ queryKey: trpc.claws.model.queryKey({ orgSlug, clawSlug }) });
  const save = useMutation(trpc.claws.setModel.mutationOptions({ onSuccess: refresh }));
  const clear = useMutation(trpc.claws.clearModel.mutationOptions({ onSuccess: refresh }));

  if (query.error)
    return (
      <Card as="section" aria-label="Model">
        <h2>Model</h2>
        <ErrorText role="alert">{errorMessage(query.error)}</ErrorText>
      </Card>
    );
  const { providers, canChange, current } = query.data;
  const own = current && !current.inherited;

  return (
    <Card as="section" aria-label="Model">
      <h2>Model</h2>
      {current ? (
        <>
          {current.inherited && (
            <Hint data-testid="model-inherited">
              The organization’s default model; set one here to override it.
            </Hint>
          )}
          <ModelFactsList facts={current} testId="model-current" keyTestId="model-key-fingerprint" />
        </>
      ) : (
        <Hint role="status" data-testid="model-none">
          No model yet: the claw cannot answer until it has one.
        </Hint>
      )}
      {canChange ? (
        <>
          <ModelForm
            idPrefix="model"
            label="Model settings"
            providers={providers}
            current={current}
            storedKey={!!own}
            saving={save.isPending}
            submitLabel="Save model"
            onSave={(settings, done) => save.mutate({ orgSlug, clawSlug, settings }, { onSuccess: done })}
          >
            {own && (
              <Button
                type="button"
                disabled={clear.isPending}
                onClick={() => {
                  if (
                    window.confirm(
                      'Remove this claw’s own model? It falls back to the organization’s default, if any.',
                    )
                  )
                    clear.mutate({ orgSlug, clawSlug });
                }}
              >
                Remove
              </Button>
            )}
          </ModelForm>
          {save.data && (
            <Hint role="status" data-testid="model-saved">
              {save.data.restarted
                ? 'Saved; the claw restarted with it.'
                : 'Saved; the claw uses it when it starts.'}
            </Hint>
          )}
          {(save.error || clear.error) && (
            <ErrorText role="alert">{errorMessage(save.error ?? clear.error)}</ErrorText>
          )}
        </>
      ) : (
        <Hint>Owners and admins of the organization set the model.</Hint>
      )}
    </Card>
  );
}
