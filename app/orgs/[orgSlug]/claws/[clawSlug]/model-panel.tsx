'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { LocalTime } from '@/app/_components/time';
import { Button, Card, ErrorText, Field, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import styles from './model-panel.module.css';

type ProviderId = 'openai' | 'anthropic' | 'openrouter' | 'openai-compatible';

/**
 * The claw's model: provider, model and API key. The key is write-only: the page shows its
 * fingerprint, and an empty key field keeps the stored one. Saving restarts a running claw's
 * gateway with the new model (the timeline records ClawModelSet). Members see it; owners and
 * admins change it.
 */
export function ModelPanel({ orgSlug, clawSlug }: { orgSlug: string; clawSlug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const query = useSuspenseQuery(trpc.claws.model.queryOptions({ orgSlug, clawSlug }));
  const refresh = () =>
    void qc.invalidateQueries({ queryKey: trpc.claws.model.queryKey({ orgSlug, clawSlug }) });
  const save = useMutation(trpc.claws.setModel.mutationOptions({ onSuccess: refresh }));
  const clear = useMutation(trpc.claws.clearModel.mutationOptions({ onSuccess: refresh }));
  const current = query.data?.current ?? null;
  const [provider, setProvider] = useState<ProviderId | null>(null);
  const [model, setModel] = useState<string | null>(null);
  const [baseUrl, setBaseUrl] = useState<string | null>(null);
  const [apiKey, setApiKey] = useState('');

  if (query.error)
    return (
      <Card as="section" aria-label="Model">
        <h2>Model</h2>
        <ErrorText role="alert">{errorMessage(query.error)}</ErrorText>
      </Card>
    );
  const { providers, canChange } = query.data;
  const chosen = provider ?? current?.provider ?? 'openai';
  const preset = providers.find((p) => p.id === chosen)!;
  const sameProvider = current?.provider === chosen;
  const modelValue = model ?? (sameProvider ? current.model : '');
  const baseUrlValue = baseUrl ?? (sameProvider && current ? current.baseUrl : '');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(
      {
        orgSlug,
        clawSlug,
        settings: {
          provider: chosen,
          model: modelValue,
          ...(preset.baseUrl === null ? { baseUrl: baseUrlValue } : {}),
          ...(apiKey.trim() ? { apiKey: apiKey.trim() } : {}),
        },
      },
      { onSuccess: () => setApiKey('') },
    );
  };

  return (
    <Card as="section" aria-label="Model">
      <h2>Model</h2>
      {current ? (
        <dl className={styles.facts} data-testid="model-current">
          <dt>Provider</dt>
          <dd>{current.providerLabel}</dd>
          <dt>Model</dt>
          <dd className="mono">{current.model}</dd>
          <dt>Base URL</dt>
          <dd className="mono">{current.baseUrl}</dd>
          <dt>API key</dt>
          <dd className="mono" data-testid="model-key-fingerprint">
            {current.keyFingerprint}
          </dd>
          <dt>Set</dt>
          <dd>
            <LocalTime date={current.setAt} />
          </dd>
        </dl>
      ) : (
        <Hint role="status" data-testid="model-none">
          No model yet: the claw cannot answer until it has one.
        </Hint>
      )}
      {canChange ? (
        <form className={styles.form} onSubmit={submit} aria-label="Model settings">
          <Field id="model-provider" label="Provider">
            <select
              id="model-provider"
              value={chosen}
              onChange={(e) => {
                setProvider(e.target.value as ProviderId);
                setModel(null);
                setBaseUrl(null);
              }}
            >
              {providers.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
            </select>
          </Field>
          {preset.baseUrl === null && (
            <Field id="model-base-url" label="Base URL" hint="The API's base, e.g. http://127.0.0.1:4000/v1">
              <input
                id="model-base-url"
                type="url"
                value={baseUrlValue}
                onChange={(e) => setBaseUrl(e.target.value)}
                required
              />
            </Field>
          )}
          <Field id="model-id" label="Model">
            <input
              id="model-id"
              value={modelValue}
              onChange={(e) => setModel(e.target.value)}
              placeholder={preset.example}
              required
            />
          </Field>
          <Field
            id="model-api-key"
            label="API key"
            hint={
              sameProvider ? 'Leave empty to keep the stored key.' : 'Stored encrypted; never shown again.'
            }
          >
            <input
              id="model-api-key"
              type="password"
              autoComplete="off"
              value={apiKey}
              onChange={(e) => setApiKey(e.target.value)}
              required={!sameProvider}
            />
          </Field>
          <div className={styles.actions}>
            <Button type="submit" variant="primary" disabled={save.isPending || !modelValue.trim()}>
              {save.isPending ? 'Saving…' : 'Save model'}
            </Button>
            {current && (
              <Button
                type="button"
                disabled={clear.isPending}
                onClick={() => {
                  if (window.confirm('Remove this claw’s model? It will not answer until it has one again.'))
                    clear.mutate({ orgSlug, clawSlug });
                }}
              >
                Remove
              </Button>
            )}
          </div>
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
        </form>
      ) : (
        <Hint>Owners and admins of the organization set the model.</Hint>
      )}
    </Card>
  );
}
