/** The gateway methods a Claws member may call through the proxy: chat, and nothing that administers. */
export const ALLOWED_METHODS: ReadonlySet<string> = new Set([
  'chat.send',
  'chat.history',
  'chat.abort',
  'sessions.messages.subscribe',
  'sessions.messages.unsubscribe',
]);

export type BrowserFrameCheck =
  | { ok: true; method: string }
  | { ok: false; id: string; error: { code: 'FORBIDDEN' | 'INVALID_REQUEST'; message: string } };

/** Parses a browser frame just enough to check it is a request for an allowed method. */
export function checkBrowserFrame(text: string): BrowserFrameCheck {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return {
      ok: false,
      id: 'invalid',
      error: { code: 'INVALID_REQUEST', message: 'invalid request frame: not JSON' },
    };
  }
  const f = frame as { type?: unknown; id?: unknown; method?: unknown };
  const id = typeof f.id === 'string' && f.id.length <= 200 ? f.id : 'invalid';
  if (
    !frame ||
    typeof frame !== 'object' ||
    f.type !== 'req' ||
    id === 'invalid' ||
    typeof f.method !== 'string'
  )
    return { ok: false, id, error: { code: 'INVALID_REQUEST', message: 'invalid request frame' } };
  if (!ALLOWED_METHODS.has(f.method))
    return {
      ok: false,
      id,
      error: { code: 'FORBIDDEN', message: `method not allowed through Claws: ${f.method.slice(0, 100)}` },
    };
  return { ok: true, method: f.method };
}
