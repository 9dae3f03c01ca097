'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Button, Card, ErrorText, Field } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import styles from './fleet.module.css';

/** Adds a Mini to the fleet: its agent, tunnel suffix, port range, capacity, ports per claw and edge. */
export function RegisterMini() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [f, setF] = useState({
    hostname: '',
    agentUrl: 'https://',
    agentCertFingerprint: '',
    agentToken: '',
    tunnelSuffix: '',
    portRangeStart: '20000',
    portRangeEnd: '20099',
    capacity: '10',
    portStride: '1',
    edgePort: '',
    clawMemoryMb: '',
  });
  const register = useMutation(
    trpc.fleet.register.mutationOptions({
      onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.fleet.list.queryKey() }),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { agentCertFingerprint, ...rest } = f;
    register.mutate({
      ...rest,
      // The agent's certificate (it prints it: npm run agent -- fingerprint); needed for https.
      ...(agentCertFingerprint.trim() ? { agentCertFingerprint: agentCertFingerprint.trim() } : {}),
      portRangeStart: Number(f.portRangeStart),
      portRangeEnd: Number(f.portRangeEnd),
      capacity: Number(f.capacity),
      portStride: Number(f.portStride),
      edgePort: f.edgePort ? Number(f.edgePort) : undefined,
      clawMemoryMb: f.clawMemoryMb ? Number(f.clawMemoryMb) : undefined,
    });
  };
  const field = (key: keyof typeof f, label: string, type = 'text', required = true) => (
    <Field id={`mini-${key}`} label={label}>
      <input
        id={`mini-${key}`}
        type={type}
        value={f[key]}
        onChange={(e) => setF({ ...f, [key]: e.target.value })}
        required={required}
      />
    </Field>
  );
  return (
    <Card as="section" className={styles.register} aria-label="Register a Mini">
      <h2>Register a Mini</h2>
      <form onSubmit={submit}>
        {field('hostname', 'Hostname')}
        {field('agentUrl', 'Agent URL')}
        {field('agentCertFingerprint', 'Agent certificate fingerprint (sha256:…)', 'text', false)}
        {field('agentToken', 'Agent token', 'password')}
        {field('tunnelSuffix', 'Tunnel suffix')}
        <div className="row">
          {field('portRangeStart', 'First port', 'number')}
          {field('portRangeEnd', 'Last port', 'number')}
          {field('capacity', 'Capacity', 'number')}
        </div>
        <div className="row">
          {/* The real OpenClaw gateway needs 120: its browser ports reach base + 110. */}
          {field('portStride', 'Ports per claw', 'number')}
          {field('edgePort', 'Edge port (direct mode)', 'number', false)}
          {/* A real gateway with its helpers holds about 1 GB; empty: claws are counted, not weighed. */}
          {field('clawMemoryMb', 'Memory per claw (MB)', 'number', false)}
        </div>
        {register.error && <ErrorText role="alert">{errorMessage(register.error)}</ErrorText>}
        {register.isSuccess && <p role="status">Registered {register.data.hostname}.</p>}
        <Button type="submit" variant="primary" disabled={register.isPending}>
          Register
        </Button>
      </form>
    </Card>
  );
}
