'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { LocalTime } from '@/app/_components/time';
import { Button, Card, ErrorText, Field, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import styles from './secrets-panel.module.css';

/**
 * The claw's named secrets: environment values its gateway reads (a channel's bot token, say).
 * Write-only: the list shows each name with its fingerprint and when it was set; setting a name
 * again replaces its value. A running claw restarts with the change (ClawSecretSet/Removed).
 */
export function SecretsPanel({ orgSlug, clawSlug }: { orgSlug: string; clawSlug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { data } = useSuspenseQuery(trpc.claws.secrets.queryOptions({ orgSlug, clawSlug }));
  const refresh = () =>
    void qc.invalidateQueries({ queryKey: trpc.claws.secrets.queryKey({ orgSlug, clawSlug }) });
  const set = useMutation(trpc.claws.setSecret.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.claws.removeSecret.mutationOptions({ onSuccess: refresh }));
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const outcome = set.data ?? remove.data;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    set.mutate(
      { orgSlug, clawSlug, secret: { name: name.trim(), value } },
      {
        onSuccess: () => {
          setName('');
          setValue('');
        },
      },
    );
  };

  return (
    <Card as="section" aria-labelledby="secrets-heading" data-testid="secrets">
      <h2 id="secrets-heading">Secrets</h2>
      {data.secrets.length === 0 ? (
        <Hint>No secrets. A gateway reads them as environment values (channel tokens, say).</Hint>
      ) : (
        <table className={styles.list}>
          <thead>
            <tr>
              <th>Name</th>
              <th>Fingerprint</th>
              <th>Set</th>
              {data.canChange && <th aria-label="Actions" />}
            </tr>
          </thead>
          <tbody>
            {data.secrets.map((s) => (
              <tr key={s.name} data-secret={s.name}>
                <td className="mono">{s.name}</td>
                <td className="mono">{s.fingerprint}</td>
                <td>
                  <LocalTime date={s.setAt} />
                </td>
                {data.canChange && (
                  <td>
                    <Button
                      type="button"
                      disabled={remove.isPending}
                      aria-label={`Remove ${s.name}`}
                      onClick={() => {
                        if (
                          window.confirm(`Remove the secret ${s.name}? A running claw restarts without it.`)
                        )
                          remove.mutate({ orgSlug, clawSlug, name: s.name });
                      }}
                    >
                      Remove
                    </Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data.canChange ? (
        <form className={styles.form} onSubmit={submit} aria-label="Set a secret">
          <Field
            id="secret-name"
            label="Name"
            hint="Upper-case letters, digits and _, like TELEGRAM_BOT_TOKEN"
          >
            <input
              id="secret-name"
              className="mono"
              value={name}
              onChange={(e) => setName(e.target.value.toUpperCase())}
              pattern="[A-Z_][A-Z0-9_]*"
              maxLength={128}
              autoComplete="off"
              required
            />
          </Field>
          <Field id="secret-value" label="Value" hint="Stored encrypted; never shown again.">
            <input
              id="secret-value"
              type="password"
              value={value}
              onChange={(e) => setValue(e.target.value)}
              maxLength={16384}
              autoComplete="off"
              required
            />
          </Field>
          <div>
            <Button type="submit" variant="primary" disabled={set.isPending || !name.trim() || !value}>
              {set.isPending ? 'Saving…' : 'Set secret'}
            </Button>
          </div>
        </form>
      ) : (
        <Hint>Owners and admins of the organization set secrets.</Hint>
      )}
      {outcome && (
        <Hint role="status" data-testid="secrets-saved">
          {outcome.restarted
            ? 'Saved; the claw restarted with it.'
            : 'Saved; the claw uses it when it starts.'}
        </Hint>
      )}
      {(set.error || remove.error) && (
        <ErrorText role="alert">{errorMessage(set.error ?? remove.error)}</ErrorText>
      )}
    </Card>
  );
}
