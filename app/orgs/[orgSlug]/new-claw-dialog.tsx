'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Button, Dialog, DialogActions, ErrorText, Field, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';

type ProviderId = 'openai' | 'anthropic' | 'openrouter' | 'openai-compatible';

/**
 * Names a new claw (its address previewed as you type), optionally with its model (else it inherits
 * the organization's default), and opens its page once requested.
 */
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
  const [withModel, setWithModel] = useState(false);
  const [provider, setProvider] = useState<ProviderId>('openai');
  const [model, setModel] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [apiKey, setApiKey] = useState('');
  // Asked for once the model section is opened: the providers, and the default a claw inherits.
  const models = useQuery({
    ...trpc.claws.defaultModel.queryOptions({ orgSlug }),
    enabled: open && withModel,
  });
  const preset = models.data?.providers.find((p) => p.id === provider);
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
        setApiKey('');
        router.push(`/orgs/${orgSlug}/claws/${claw.slug}`);
      },
    }),
  );
  return (
    <Dialog open={open} onClose={onClose} title="New Claw">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({
            orgSlug,
            name,
            ...(withModel
              ? {
                  model: {
                    provider,
                    model: model.trim(),
                    ...(preset?.baseUrl === null ? { baseUrl: baseUrl.trim() } : {}),
                    apiKey: apiKey.trim(),
                  },
                }
              : {}),
          });
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
        <details
          open={withModel}
          onToggle={(e) => setWithModel((e.currentTarget as HTMLDetailsElement).open)}
          data-testid="new-claw-model"
        >
          <summary>Model (optional)</summary>
          <Hint>
            {models.data?.current
              ? `Without one, it answers with the organization’s default (${models.data.current.model}).`
              : 'Without one, it answers once a model is set on its page or as the organization’s default.'}
          </Hint>
          {withModel && (
            <>
              <Field id="new-claw-provider" label="Provider">
                <select
                  id="new-claw-provider"
                  value={provider}
                  onChange={(e) => setProvider(e.target.value as ProviderId)}
                >
                  {(models.data?.providers ?? []).map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.label}
                    </option>
                  ))}
                </select>
              </Field>
              {preset?.baseUrl === null && (
                <Field id="new-claw-base-url" label="Base URL">
                  <input
                    id="new-claw-base-url"
                    type="url"
                    value={baseUrl}
                    onChange={(e) => setBaseUrl(e.target.value)}
                    required
                  />
                </Field>
              )}
              <Field id="new-claw-model-id" label="Model">
                <input
                  id="new-claw-model-id"
                  value={model}
                  onChange={(e) => setModel(e.target.value)}
                  placeholder={preset?.example}
                  required
                />
              </Field>
              <Field id="new-claw-api-key" label="API key" hint="Stored encrypted; never shown again.">
                <input
                  id="new-claw-api-key"
                  type="password"
                  autoComplete="off"
                  value={apiKey}
                  onChange={(e) => setApiKey(e.target.value)}
                  required
                />
              </Field>
            </>
          )}
        </details>
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
