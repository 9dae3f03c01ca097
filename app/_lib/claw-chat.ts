/**
 * The browser side of chat with a claw, over the Claws proxy: an OpenClaw-compatible WebSocket
 * (challenge → connect → hello-ok, then chat.history / chat.send / chat.abort and `chat` events).
 * No React here; the component subscribes to its state.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ChatMessage {
  key: string;
  role: 'user' | 'assistant';
  text: string;
  streaming?: boolean;
  stopped?: boolean;
  runId?: string;
}

export interface ChatSnapshot {
  state: ConnectionState;
  messages: ChatMessage[];
  error: string | null;
  activeRunId: string | null;
}

const SESSION = 'main';
const PERMANENT = new Set([4401, 4403, 4404, 4409, 4429, 4502]);

/** Close codes (server/gateway/proxy/close-codes.ts) in words. */
export function describeClose(code: number, reason: string): string {
  switch (code) {
    case 4401:
      return 'You are signed out. Log in again to chat.';
    case 4403:
      return reason.includes('removed')
        ? 'You were removed from this organization.'
        : 'You may not chat with this claw.';
    case 4429:
      return 'Too many chats are open for your account; close one and reload.';
    case 4400:
      return 'The chat connection broke the protocol; reload the page.';
    case 4404:
      return 'This claw does not exist, or you are not a member of its organization.';
    case 4409:
      return `This claw cannot chat right now (${reason.replace(/^claw is /, '')}).`;
    case 4503:
      return reason.includes('starting')
        ? 'The claw is starting; reconnecting…'
        : 'The claw cannot be reached right now; reconnecting…';
    case 4502:
      return 'The claw refused the connection.';
    case 4500:
      return 'The claw closed the connection; reconnecting…';
    case 1009:
      return 'That message is too large to send.';
    case 1001:
      return 'The server is restarting; reconnecting…';
    default:
      return `Connection lost (${code}); reconnecting…`;
  }
}

function textOf(message: unknown): string {
  const m = message as { content?: unknown } | undefined;
  if (!m) return '';
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content))
    return m.content
      .map((p: { type?: string; text?: string }) => (p?.type === 'text' ? (p.text ?? '') : ''))
      .join('');
  return '';
}

export class ClawChat {
  #ws: WebSocket | undefined;
  #snapshot: ChatSnapshot = { state: 'connecting', messages: [], error: null, activeRunId: null };
  #listeners = new Set<(s: ChatSnapshot) => void>();
  #pending = new Map<
    string,
    (frame: { ok: boolean; payload?: unknown; error?: { message?: string } }) => void
  >();
  #attempt = 0;
  #closedByUser = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;

  constructor(private readonly url: string) {}

  subscribe(fn: (s: ChatSnapshot) => void): () => void {
    this.#listeners.add(fn);
    fn(this.#snapshot);
    return () => this.#listeners.delete(fn);
  }

  #set(patch: Partial<ChatSnapshot>) {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const fn of this.#listeners) fn(this.#snapshot);
  }

  connect(): void {
    this.#closedByUser = false;
    const ws = new WebSocket(this.url);
    this.#ws = ws;
    this.#set({ state: this.#attempt ? 'reconnecting' : 'connecting' });
    ws.onmessage = (ev) => this.#onFrame(JSON.parse(String(ev.data)));
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      for (const [, resolve] of this.#pending)
        resolve({ ok: false, error: { message: 'connection closed' } });
      this.#pending.clear();
      if (this.#closedByUser) return this.#set({ state: 'closed' });
      const message = describeClose(ev.code, ev.reason);
      if (PERMANENT.has(ev.code)) return this.#set({ state: 'closed', error: message });
      const retryHint = /retry-after-ms=(\d+)/.exec(ev.reason)?.[1];
      const delay = Math.min(
        30_000,
        Math.max(Number(retryHint ?? 0), 1000 * 2 ** Math.min(this.#attempt, 5)),
      );
      this.#attempt++;
      this.#set({ state: 'reconnecting', error: message, activeRunId: null });
      this.#timer = setTimeout(() => this.connect(), delay);
    };
  }

  close(): void {
    this.#closedByUser = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1000);
  }

  #request(method: string, params: unknown) {
    const id = `ui-${this.#nextId++}`;
    return new Promise<{ ok: boolean; payload?: unknown; error?: { message?: string } }>((resolve) => {
      this.#pending.set(id, resolve);
      this.#ws?.send(JSON.stringify({ type: 'req', id, method, params }));
    });
  }

  async #onFrame(frame: {
    type: string;
    id?: string;
    event?: string;
    ok?: boolean;
    payload?: Record<string, unknown>;
    error?: { message?: string };
  }) {
    if (frame.type === 'event' && frame.event === 'connect.challenge') {
      const r = await this.#request('connect', {
        minProtocol: 4,
        maxProtocol: 4,
        client: { id: 'webchat-ui', version: 'claws', platform: 'web', mode: 'webchat' },
        role: 'operator',
        scopes: ['operator.read', 'operator.write'],
      });
      if (!r.ok) return this.#set({ error: r.error?.message ?? 'Could not connect' });
      this.#attempt = 0;
      this.#set({ state: 'open', error: null });
      const h = await this.#request('chat.history', { sessionKey: SESSION, limit: 100 });
      if (h.ok) {
        const messages = ((h.payload as { messages?: unknown[] })?.messages ?? [])
          .map((m, i): ChatMessage | null => {
            const mm = m as { role?: string; __openclaw?: { id?: string } };
            if (mm.role !== 'user' && mm.role !== 'assistant') return null;
            return { key: mm.__openclaw?.id ?? `h${i}`, role: mm.role, text: textOf(m) };
          })
          .filter((m): m is ChatMessage => m !== null);
        this.#set({ messages });
      }
      return;
    }
    if (frame.type === 'res' && frame.id) {
      this.#pending.get(frame.id)?.(frame as { ok: boolean });
      this.#pending.delete(frame.id);
      return;
    }
    if (frame.type === 'event' && frame.event === 'chat' && frame.payload) this.#onChat(frame.payload);
  }

  #onChat(p: Record<string, unknown>) {
    const runId = String(p.runId ?? '');
    const state = p.state as string;
    const messages = [...this.#snapshot.messages];
    let i = messages.findIndex((m) => m.runId === runId && m.role === 'assistant');
    if (state === 'delta' || state === 'final' || state === 'aborted') {
      const text = textOf(p.message);
      const msg: ChatMessage = {
        key: `run-${runId}`,
        role: 'assistant',
        runId,
        text,
        streaming: state === 'delta',
        stopped: state === 'aborted',
      };
      if (i < 0) i = messages.push(msg) - 1;
      else messages[i] = { ...messages[i]!, ...msg };
      this.#set({ messages, activeRunId: state === 'delta' ? runId : null });
    } else if (state === 'error') {
      this.#set({ error: String(p.errorMessage ?? 'The claw could not answer'), activeRunId: null });
    }
  }

  async send(text: string): Promise<void> {
    const idempotencyKey = `ui-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    this.#set({
      messages: [...this.#snapshot.messages, { key: `u-${idempotencyKey}`, role: 'user', text }],
      activeRunId: idempotencyKey,
      error: null,
    });
    const r = await this.#request('chat.send', { sessionKey: SESSION, message: text, idempotencyKey });
    if (!r.ok) this.#set({ error: r.error?.message ?? 'The message was not sent', activeRunId: null });
  }

  async abort(): Promise<void> {
    const runId = this.#snapshot.activeRunId;
    if (!runId) return;
    const r = await this.#request('chat.abort', { sessionKey: SESSION, runId });
    if (!r.ok) this.#set({ error: r.error?.message ?? 'Could not stop the reply' });
  }
}
