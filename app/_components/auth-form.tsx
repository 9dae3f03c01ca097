'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import { Button, Card, ErrorText, Field } from './ui';

/**
 * Log in or sign up. `next` (a same-site path, checked by the page) is where to go afterwards, e.g.
 * back to an invitation; `email` fills the address in (the invited one).
 */
export function AuthForm({
  mode,
  next,
  email: presetEmail,
}: {
  mode: 'login' | 'signup';
  next?: string | null;
  email?: string | null;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [email, setEmail] = useState(presetEmail ?? '');
  const [password, setPassword] = useState('');
  const done = {
    onSuccess: async () => {
      await qc.invalidateQueries();
      router.push(next ?? '/');
    },
  };
  const carry = new URLSearchParams({
    ...(next ? { next } : {}),
    ...(presetEmail ? { email: presetEmail } : {}),
  }).toString();
  const signup = useMutation(trpc.auth.signup.mutationOptions(done));
  const login = useMutation(trpc.auth.login.mutationOptions(done));
  const m = mode === 'signup' ? signup : login;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mode === 'signup') signup.mutate({ name, email, password });
    else login.mutate({ email, password });
  };
  return (
    <Card narrow>
      <h1>{mode === 'signup' ? 'Create your account' : 'Welcome back'}</h1>
      <p className="subtitle">
        {mode === 'signup' ? 'Run claws for your organization.' : 'Log in to your claws.'}
      </p>
      <form onSubmit={submit} noValidate>
        {mode === 'signup' && (
          <Field id="name" label="Name">
            <input
              id="name"
              autoComplete="name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
            />
          </Field>
        )}
        <Field id="email" label="Email">
          <input
            id="email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
          />
        </Field>
        <Field id="password" label="Password" hint={mode === 'signup' ? 'At least 8 characters.' : undefined}>
          <input
            id="password"
            type="password"
            autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            minLength={mode === 'signup' ? 8 : 1}
          />
        </Field>
        {m.error && <ErrorText role="alert">{errorMessage(m.error)}</ErrorText>}
        <div className="spread">
          <Button type="submit" variant="primary" disabled={m.isPending}>
            {mode === 'signup' ? 'Sign up' : 'Log in'}
          </Button>
          {mode === 'signup' ? (
            <Link href={`/login${carry ? `?${carry}` : ''}`}>I have an account</Link>
          ) : (
            <Link href={`/signup${carry ? `?${carry}` : ''}`}>Create an account</Link>
          )}
        </div>
      </form>
    </Card>
  );
}
