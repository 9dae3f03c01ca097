import WebSocket, { WebSocketServer } from 'ws';

/** The floor for any Node relay: one upstream socket per client, bytes passed both ways, nothing else. */
const port = Number(process.argv[2]);
const upstreamUrl = process.argv[3]!;
const wss = new WebSocketServer({
  port,
  host: '127.0.0.1',
  perMessageDeflate: false,
  maxPayload: 26_214_400,
});
wss.on('connection', (client) => {
  const upstream = new WebSocket(upstreamUrl, { perMessageDeflate: false });
  const pending: { data: WebSocket.RawData; isBinary: boolean }[] = [];
  upstream.on('open', () =>
    pending.splice(0).forEach((p) => upstream.send(p.data as Buffer, { binary: p.isBinary })),
  );
  upstream.on('message', (data, isBinary) => client.send(data as Buffer, { binary: isBinary }));
  client.on('message', (data, isBinary) => {
    if (upstream.readyState === upstream.OPEN) upstream.send(data as Buffer, { binary: isBinary });
    else pending.push({ data, isBinary });
  });
  client.on('close', () => upstream.close());
  upstream.on('close', () => client.close());
  upstream.on('error', () => client.terminate());
});
wss.on('listening', () => console.log('ready'));
