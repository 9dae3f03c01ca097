'use client';

import { useEffect, useRef, useState } from 'react';
import { ClawChat, type ChatSnapshot } from '../_lib/claw-chat';

const STATE_TEXT = {
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

export function ChatPanel({ orgSlug, clawSlug }: { orgSlug: string; clawSlug: string }) {
  const [chat, setChat] = useState<ClawChat | null>(null);
  const [snap, setSnap] = useState<ChatSnapshot | null>(null);
  const [text, setText] = useState('');
  const logRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const c = new ClawChat(`${scheme}://${window.location.host}/api/ws/claws/${orgSlug}/${clawSlug}`);
    const off = c.subscribe(setSnap);
    c.connect();
    setChat(c);
    return () => {
      off();
      c.close();
    };
  }, [orgSlug, clawSlug]);

  useEffect(() => {
    logRef.current?.scrollTo({ top: logRef.current.scrollHeight });
  }, [snap?.messages]);

  const state = snap?.state ?? 'connecting';
  const busy = !!snap?.activeRunId;
  return (
    <section className="card chat" aria-label="Chat with the claw">
      <div className="spread" style={{ marginBottom: 8 }}>
        <h2 style={{ margin: 0 }}>Chat</h2>
        <span
          className={`conn conn-${state === 'open' ? 'open' : state === 'closed' ? 'closed' : 'connecting'}`}
          role="status"
          data-testid="chat-state"
        >
          {STATE_TEXT[state]}
        </span>
      </div>
      <div className="chat-log" ref={logRef} aria-live="polite" data-testid="chat-log">
        {snap?.messages.length === 0 && <p className="muted">Say hello to your claw.</p>}
        {snap?.messages.map((m) => (
          <p
            key={m.key}
            className={`msg msg-${m.role} ${m.streaming ? 'msg-streaming' : ''}`}
            data-role={m.role}
            data-streaming={m.streaming ? 'true' : 'false'}
          >
            {m.text}
            {m.stopped && <span className="muted"> (stopped)</span>}
          </p>
        ))}
      </div>
      {snap?.error && (
        <p className="error" role="alert" style={{ marginTop: 8 }} data-testid="chat-error">
          {snap.error}
        </p>
      )}
      <form
        className="chat-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!text.trim() || !chat) return;
          void chat.send(text.trim());
          setText('');
        }}
      >
        <label htmlFor="chat-input" className="visually-hidden">
          Message
        </label>
        <input
          id="chat-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="Message your claw"
          disabled={state !== 'open'}
          autoComplete="off"
        />
        {busy ? (
          <button type="button" onClick={() => void chat?.abort()}>
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={state !== 'open' || !text.trim()}>
            Send
          </button>
        )}
      </form>
    </section>
  );
}
