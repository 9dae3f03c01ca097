'use client';

import { useState, type FormEvent, type ReactNode } from 'react';
import { LocalTime } from './time';
import { Button, Field } from './ui';
import styles from './model-form.module.css';

export type ProviderId = 'openai' | 'anthropic' | 'openrouter' | 'openai-compatible';

export interface ProviderChoice {
  id: ProviderId;
  label: string;
  baseUrl: string | null;
  example: string;
}

export interface ModelFacts {
  provider: ProviderId;
  providerLabel: string;
  model: string;
  baseUrl: string;
  keyFingerprint: string;
  setAt: Date;
}

export interface ModelSettings {
  provider: ProviderId;
  model: string;
  baseUrl?: string;
  apiKey?: string;
}

/** What is stored, as a list of facts: the key as its fingerprint. */
export function ModelFactsList({
  facts,
  testId,
  keyTestId,
}: {
  facts: ModelFacts;
  testId: string;
  keyTestId: string;
}) {
  return (
    <dl className={styles.facts} data-testid={testId}>
      <dt>Provider</dt>
      <dd>{facts.providerLabel}</dd>
      <dt>Model</dt>
      <dd className="mono">{facts.model}</dd>
      <dt>Base URL</dt>
      <dd className="mono">{facts.baseUrl}</dd>
      <dt>API key</dt>
      <dd className="mono" data-testid={keyTestId}>
        {facts.keyFingerprint}
      </dd>
      <dt>Set</dt>
      <dd>
        <LocalTime date={facts.setAt} />
      </dd>
    </dl>
  );
}

/**
 * Provider, model, base URL (for an OpenAI-compatible one) and API key. The key is write-only: with
 * `keyKept` (the stored settings are of the chosen provider) an empty field keeps the stored key.
 * The claw page and the organization's default model share it.
 */
export function ModelForm(props: {
  idPrefix: string;
  label: string;
  providers: readonly ProviderChoice[];
  /** The stored settings the form starts from, if any. */
  current: ModelFacts | null;
  /** Whether an empty key keeps a stored one (the stored settings are this form's own). */
  storedKey: boolean;
  saving: boolean;
  onSave(settings: ModelSettings, done: () => void): void;
  submitLabel: string;
  children?: ReactNode;
}) {
  const { idPrefix: id, providers, current } = props;
  const [provider, setProvider] = useState<ProviderId | null>(null);
  const [model, setModel] = useState<string | null>(null);
  const [baseUrl, setBaseUrl] = useState<string | null>(null);
  const [apiKey, setApiKey] = useState('');
  const chosen = provider ?? current?.provider ?? 'openai';
  const preset = providers.find((p) => p.id === chosen)!;
  const sameProvider = current?.provider === chosen;
  const keyKept = props.storedKey && sameProvider;
  const modelValue = model ?? (sameProvider ? current.model : '');
  const baseUrlValue = baseUrl ?? (sameProvider && current ? current.baseUrl : '');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSave(
      {
        provider: chosen,
        model: modelValue,
        ...(preset.baseUrl === null ? { baseUrl: baseUrlValue } : {}),
        ...(apiKey.trim() ? { apiKey: apiKey.trim() } : {}),
      },
      () => setApiKey(''),
    );
  };

  return (
    <form className={styles.form} onSubmit={submit} aria-label={props.label}>
      <Field id={`${id}-provider`} label="Provider">
        <select
          id={`${id}-provider`}
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
        <Field id={`${id}-base-url`} label="Base URL" hint="The API's base, e.g. http://127.0.0.1:4000/v1">
          <input
            id={`${id}-base-url`}
            type="url"
            value={baseUrlValue}
            onChange={(e) => setBaseUrl(e.target.value)}
            required
          />
        </Field>
      )}
      <Field id={`${id}-id`} label="Model">
        <input
          id={`${id}-id`}
          value={modelValue}
          onChange={(e) => setModel(e.target.value)}
          placeholder={preset.example}
          required
        />
      </Field>
      <Field
        id={`${id}-api-key`}
        label="API key"
        hint={keyKept ? 'Leave empty to keep the stored key.' : 'Stored encrypted; never shown again.'}
      >
        <input
          id={`${id}-api-key`}
          type="password"
          autoComplete="off"
          value={apiKey}
          onChange={(e) => setApiKey(e.target.value)}
          required={!keyKept}
        />
      </Field>
      <div className={styles.actions}>
        <Button type="submit" variant="primary" disabled={props.saving || !modelValue.trim()}>
          {props.saving ? 'Saving…' : props.submitLabel}
        </Button>
        {props.children}
      </div>
    </form>
  );
}
