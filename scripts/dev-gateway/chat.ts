import { randomUUID } from 'node:crypto';
import type { ChatHistoryFile } from './chat-store';
import { canonicalSessionKey } from './protocol';

/**
 * A tiny deterministic "model": it streams a reply word by word as `chat` delta events, then a
 * final one, per run; runs are keyed by idempotencyKey (resending one is deduplicated). With a
 * history file (chat-store.ts) the history is loaded at start and saved on every message, so it
 * outlives the process like the real gateway's sessions.
 */
export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string | { type: 'text'; text: string }[];
  timestamp: number;
  idempotencyKey?: string;
  stopReason?: string;
  __openclaw: { id: string; seq: number; runId?: string };
}

export type Broadcast = (sessionKey: string, event: string, payload: Record<string, unknown>) => void;

interface Run {
  runId: string;
  sessionKey: string;
  words: string[];
  sent: number;
  seq: number;
  timer?: NodeJS.Timeout;
}

const DEDUPE_TTL_MS = 5 * 60_000;

export class ChatEngine {
  #history = new Map<string, ChatMessage[]>();
  #runs = new Map<string, Run>();
  #seen = new Map<string, number>();
  #seq = 0;

  constructor(
    private readonly broadcast: Broadcast,
    private readonly wordDelayMs: number,
    private readonly store?: ChatHistoryFile,
  ) {
    const saved = store?.load();
    if (saved) {
      this.#seq = saved.seq;
      for (const [key, messages] of Object.entries(saved.sessions)) this.#history.set(key, messages);
    }
  }

  static replyTo(message: string): string {
    return `Hello from the Claws dev gateway. You said: ${message.trim().slice(0, 500) || '(nothing)'}`;
  }

  send(
    sessionKeyIn: string,
    message: string,
    idempotencyKey: string,
  ): { runId: string; status: 'started' | 'in_flight' | 'ok' } {
    const now = Date.now();
    for (const [k, at] of this.#seen) if (now - at > DEDUPE_TTL_MS) this.#seen.delete(k);
    // A resent key is not a new run: like the real gateway, say whether the first is still going.
    if (this.#seen.has(idempotencyKey))
      return { runId: idempotencyKey, status: this.#runs.has(idempotencyKey) ? 'in_flight' : 'ok' };
    this.#seen.set(idempotencyKey, now);
    const sessionKey = canonicalSessionKey(sessionKeyIn);
    this.#push(sessionKey, {
      role: 'user',
      content: message,
      timestamp: now,
      idempotencyKey: `${idempotencyKey}:user`,
      __openclaw: { id: randomUUID(), seq: ++this.#seq },
    });
    const run: Run = {
      runId: idempotencyKey,
      sessionKey,
      words: ChatEngine.replyTo(message).split(' '),
      sent: 0,
      seq: 0,
    };
    this.#runs.set(run.runId, run);
    this.#emit(run, { state: 'status', phase: 'starting_model' });
    const step = () => {
      if (!this.#runs.has(run.runId)) return;
      run.sent++;
      const text = run.words.slice(0, run.sent).join(' ');
      const deltaText = (run.sent > 1 ? ' ' : '') + run.words[run.sent - 1];
      if (run.sent < run.words.length) {
        this.#emit(run, { state: 'delta', deltaText, message: this.#assistant(text) });
        run.timer = setTimeout(step, this.wordDelayMs);
      } else {
        this.#emit(run, { state: 'delta', deltaText, message: this.#assistant(text) });
        this.#finish(run, 'final', 'stop');
      }
    };
    run.timer = setTimeout(step, this.wordDelayMs);
    return { runId: run.runId, status: 'started' };
  }

  abort(sessionKeyIn: string, runId?: string): string[] {
    const sessionKey = canonicalSessionKey(sessionKeyIn);
    const aborted = [...this.#runs.values()].filter(
      (r) => r.sessionKey === sessionKey && (!runId || r.runId === runId),
    );
    for (const run of aborted) {
      clearTimeout(run.timer);
      this.#finish(run, 'aborted', 'rpc');
    }
    return aborted.map((r) => r.runId);
  }

  history(sessionKeyIn: string, limit = 200) {
    const sessionKey = canonicalSessionKey(sessionKeyIn);
    const all = this.#history.get(sessionKey) ?? [];
    const messages = all.slice(-limit);
    const active = [...this.#runs.values()].filter((r) => r.sessionKey === sessionKey).map((r) => r.runId);
    // The key comes back as it was asked for; sessionInfo names it canonically (as the real gateway does).
    return {
      sessionKey: sessionKeyIn,
      sessionId: sessionKey,
      messages,
      pendingInputs: [],
      deltaCursor: String(this.#seq),
      nextOffset: all.length,
      hasMore: all.length > messages.length,
      totalMessages: all.length,
      defaults: { defaultAgentId: 'main', mainKey: 'main', mainSessionKey: 'agent:main:main' },
      sessionInfo: { key: sessionKey, hasActiveRun: active.length > 0, activeRunIds: active },
    };
  }

  stop(): void {
    for (const run of this.#runs.values()) clearTimeout(run.timer);
    this.#runs.clear();
  }

  #assistant(text: string) {
    return { role: 'assistant', content: [{ type: 'text', text }], timestamp: Date.now() };
  }

  #finish(run: Run, state: 'final' | 'aborted', stopReason: string) {
    this.#runs.delete(run.runId);
    const text = run.words.slice(0, run.sent).join(' ');
    this.#push(run.sessionKey, {
      role: 'assistant',
      content: [{ type: 'text', text }],
      timestamp: Date.now(),
      stopReason,
      __openclaw: { id: randomUUID(), seq: ++this.#seq, runId: run.runId },
    });
    this.#emit(run, { state, stopReason, message: this.#assistant(text) });
  }

  #emit(run: Run, payload: Record<string, unknown>) {
    this.broadcast(run.sessionKey, 'chat', {
      runId: run.runId,
      sessionKey: run.sessionKey,
      agentId: 'main',
      seq: ++run.seq,
      ...payload,
    });
  }

  #push(sessionKey: string, m: ChatMessage) {
    const list = this.#history.get(sessionKey) ?? [];
    list.push(m);
    this.#history.set(sessionKey, list);
    this.store?.save({ version: 1, seq: this.#seq, sessions: Object.fromEntries(this.#history) });
  }
}
