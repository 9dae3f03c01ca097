'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../_lib/errors';
import { useTRPC } from '../_trpc/client';

export function AuthForm({ mode }: { mode: 'login' | 'signup' }) {
  const trpc = useTRPC();
  const router = useRouter();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const done = {
    onSuccess: async () => {
      await qc.invalidateQueries();
      router.push('/');
    },
  };
  const signup = useMutation(trpc.auth.signup.mutationOptions(done));
  const login = useMutation(trpc.auth.login.mutationOptions(done));
  const m = mode === 'signup' ? signup : login;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mode === 'signup') signup.mutate({ name, email, password });
    else login.mutate({ email, password });
  };
  return (
    <div className="auth-box card">
      <h1>{mode === 'signup' ? 'Create your account' : 'Welcome back'}</h1>
      <p className="subtitle">
        {mode === 'signup' ? 'The first account becomes the platform admin.' : 'Log in to your claws.'}
      </p>
      <form onSubmit={submit} noValidate>
        {mode === 'signup' && (
          <div className="field">
            <label htmlFor="name">Name</label>
            <input
              id="name"
              autoComplete="name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
            />
          </div>
        )}
        <div className="field">
          <label htmlFor="email">Email</label>
          <input
            id="email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
          />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input
            id="password"
            type="password"
            autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            minLength={mode === 'signup' ? 8 : 1}
          />
          {mode === 'signup' && <p className="hint">At least 8 characters.</p>}
        </div>
        {m.error && (
          <p className="error" role="alert">
            {errorMessage(m.error)}
          </p>
        )}
        <div className="spread">
          <button type="submit" className="primary" disabled={m.isPending}>
            {mode === 'signup' ? 'Sign up' : 'Log in'}
          </button>
          {mode === 'signup' ? (
            <Link href="/login">I have an account</Link>
          ) : (
            <Link href="/signup">Create an account</Link>
          )}
        </div>
      </form>
    </div>
  );
}
