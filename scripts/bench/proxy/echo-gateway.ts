import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';

/**
 * A gateway for the proxy benchmark, in its own process: the OpenClaw handshake, then every request
 * answered at once with a response of the same size. Port from argv[2]; token from BENCH_TOKEN.
 */
const port = Number(process.argv[2]);
const token = process.env.BENCH_TOKEN ?? '';
const wss = new WebSocketServer({
  port,
  host: '127.0.0.1',
  perMessageDeflate: false,
  maxPayload: 26_214_400,
});
wss.on('connection', (ws) => {
  let authed = false;
  ws.send(
    JSON.stringify({
      type: 'event',
      event: 'connect.challenge',
      payload: { nonce: randomUUID(), ts: Date.now() },
    }),
  );
  ws.on('message', (data) => {
    const text = data.toString();
    if (!authed) {
      const f = JSON.parse(text) as { id: string; params?: { auth?: { token?: string }; scopes?: string[] } };
      if (f.params?.auth?.token !== token) return ws.close(1008, 'token mismatch');
      authed = true;
      ws.send(
        JSON.stringify({
          type: 'res',
          id: f.id,
          ok: true,
          payload: {
            type: 'hello-ok',
            protocol: 4,
            auth: { role: 'operator', scopes: f.params?.scopes ?? [] },
            policy: { maxPayload: 26_214_400 },
          },
        }),
      );
      return;
    }
    // {"type":"req","id":…} → {"type":"res","id":…}: same length, found without a full parse.
    ws.send(text.replace('"type":"req"', '"type":"res"'));
  });
});
wss.on('listening', () => console.log('ready'));
