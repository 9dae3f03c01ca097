'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useState, type FormEvent } from 'react';
import { ago } from '../_components/status';
import { errorMessage } from '../_lib/errors';
import { useTRPC } from '../_trpc/client';

export default function FleetPage() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const fleet = useQuery(trpc.fleet.list.queryOptions());
  useSubscription(
    trpc.fleet.onChange.subscriptionOptions(undefined, {
      enabled: fleet.isSuccess,
      onData: ({ data }) => qc.setQueryData(trpc.fleet.list.queryKey(), data),
    }),
  );
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.fleet.list.queryKey() });
  const cordon = useMutation(trpc.fleet.cordon.mutationOptions({ onSuccess: refresh }));
  const uncordon = useMutation(trpc.fleet.uncordon.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.fleet.remove.mutationOptions({ onSuccess: refresh }));
  const failure = cordon.error ?? uncordon.error ?? remove.error;

  return (
    <>
      <div className="spread">
        <div>
          <h1>Fleet</h1>
          <p className="subtitle" style={{ margin: 0 }}>
            Mac Minis, their capacity and the ports in use
          </p>
        </div>
      </div>
      {fleet.isPending && <p className="muted">Loading the fleet…</p>}
      {fleet.error && (
        <p className="error" role="alert">
          {errorMessage(fleet.error)}
        </p>
      )}
      {failure && (
        <p className="error" role="alert">
          {errorMessage(failure)}
        </p>
      )}
      {fleet.data?.length === 0 && <p className="card empty">No Minis yet. Register one below.</p>}
      <div className="grid" data-testid="fleet">
        {fleet.data?.map((m) => (
          <article key={m.id} className="card" data-mini={m.hostname}>
            <div className="spread" style={{ marginBottom: 4 }}>
              <h2 style={{ margin: 0 }}>{m.hostname}</h2>
              <span className="row">
                <span className={`badge badge-${m.status}`}>{m.status}</span>
                {m.cordoned && <span className="badge badge-cordoned">cordoned</span>}
              </span>
            </div>
            <div
              className="capacity"
              role="meter"
              aria-label="Capacity used"
              aria-valuemin={0}
              aria-valuemax={m.capacity}
              aria-valuenow={m.allocated}
            >
              <span style={{ width: `${(100 * m.allocated) / m.capacity}%` }} />
            </div>
            <p className="muted" style={{ margin: 0, fontSize: 14 }} data-testid="allocation">
              {m.allocated} of {m.capacity} claws · ports {m.portRangeStart}–{m.portRangeEnd} · last seen{' '}
              {ago(m.lastSeenAt)}
            </p>
            {m.usedPorts.length > 0 && (
              <p className="mono" style={{ fontSize: 12 }}>
                {m.usedPorts.map((u) => `${u.port} (${u.clawSlug})`).join(', ')}
              </p>
            )}
            {m.lastError && m.status === 'offline' && <p className="error">{m.lastError}</p>}
            <div className="row" style={{ marginTop: 8 }}>
              {m.cordoned ? (
                <button onClick={() => uncordon.mutate({ miniId: m.id })}>Uncordon</button>
              ) : (
                <button onClick={() => cordon.mutate({ miniId: m.id })}>Cordon</button>
              )}
              <button
                className="danger"
                disabled={m.allocated > 0}
                title={m.allocated > 0 ? 'Only an empty Mini can be removed' : undefined}
                onClick={() =>
                  window.confirm(`Remove ${m.hostname} from the fleet?`) && remove.mutate({ miniId: m.id })
                }
              >
                Remove
              </button>
            </div>
          </article>
        ))}
      </div>
      <RegisterMini onDone={refresh} />
    </>
  );
}

function RegisterMini({ onDone }: { onDone: () => void }) {
  const trpc = useTRPC();
  const [f, setF] = useState({
    hostname: '',
    agentUrl: 'http://',
    agentToken: '',
    tunnelSuffix: '',
    portRangeStart: '20000',
    portRangeEnd: '20099',
    capacity: '10',
  });
  const register = useMutation(trpc.fleet.register.mutationOptions({ onSuccess: onDone }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    register.mutate({
      ...f,
      portRangeStart: Number(f.portRangeStart),
      portRangeEnd: Number(f.portRangeEnd),
      capacity: Number(f.capacity),
    });
  };
  const field = (key: keyof typeof f, label: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`mini-${key}`}>{label}</label>
      <input
        id={`mini-${key}`}
        type={type}
        value={f[key]}
        onChange={(e) => setF({ ...f, [key]: e.target.value })}
        required
      />
    </div>
  );
  return (
    <section className="card" style={{ marginTop: 24, maxWidth: 560 }} aria-label="Register a Mini">
      <h2>Register a Mini</h2>
      <form onSubmit={submit}>
        {field('hostname', 'Hostname')}
        {field('agentUrl', 'Agent URL')}
        {field('agentToken', 'Agent token', 'password')}
        {field('tunnelSuffix', 'Tunnel suffix')}
        <div className="row">
          {field('portRangeStart', 'First port', 'number')}
          {field('portRangeEnd', 'Last port', 'number')}
          {field('capacity', 'Capacity', 'number')}
        </div>
        {register.error && (
          <p className="error" role="alert">
            {errorMessage(register.error)}
          </p>
        )}
        {register.isSuccess && <p role="status">Registered {register.data.hostname}.</p>}
        <button type="submit" className="primary" disabled={register.isPending}>
          Register
        </button>
      </form>
    </section>
  );
}
