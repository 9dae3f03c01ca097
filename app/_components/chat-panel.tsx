'use client';

import { useEffect, useRef, useState } from 'react';
import { ClawChat, type ChatSnapshot } from '@/app/_lib/claw-chat';
import { Button, Card, cx, ErrorText } from './ui';
import styles from './chat-panel.module.css';

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
  const conn = state === 'open' ? 'open' : state === 'closed' ? 'closed' : 'connecting';
  return (
    <Card as="section" className={styles.chat} aria-label="Chat with the claw">
      <div className={styles.head}>
        <h2 className={styles.title}>Chat</h2>
        <span className={cx(styles.conn, styles[conn])} role="status" data-testid="chat-state">
          {STATE_TEXT[state]}
        </span>
      </div>
      <div className={styles.log} ref={logRef} aria-live="polite" data-testid="chat-log">
        {snap?.messages.length === 0 && <p className="muted">Say hello to your claw.</p>}
        {snap?.messages.map((m) => (
          <p
            key={m.key}
            className={cx(styles.msg, styles[m.role], m.streaming && styles.streaming)}
            data-role={m.role}
            data-streaming={m.streaming ? 'true' : 'false'}
          >
            {m.text}
            {m.stopped && <span className="muted"> (stopped)</span>}
          </p>
        ))}
      </div>
      {snap?.error && (
        <ErrorText role="alert" className={styles.error} data-testid="chat-error">
          {snap.error}
        </ErrorText>
      )}
      <form
        className={styles.form}
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
          <Button onClick={() => void chat?.abort()}>Stop</Button>
        ) : (
          <Button type="submit" variant="primary" disabled={state !== 'open' || !text.trim()}>
            Send
          </Button>
        )}
      </form>
    </Card>
  );
}
