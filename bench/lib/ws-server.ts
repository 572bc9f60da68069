/**
 * The bare ceiling for a request/response over a WebSocket with CBOR: a server that
 * decodes each frame and answers it, with no store behind it. A put frame
 * `{id, k, v}` gets `{id, ok: true}`; a get frame `{id, k}` gets `{id, v}` with a
 * 1 KiB value. Run as its own process (`node ws-server.js PORT`), as a node is.
 */
import { Encoder } from 'cbor-x';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const valueBytes = Number(process.argv[3] ?? 1024);
const enc = new Encoder({ useRecords: false });
const value = new Uint8Array(valueBytes).fill(7);
const wss = new WebSocketServer({ host: '127.0.0.1', port });
wss.on('connection', (ws) => {
  ws.on('message', (data: Buffer) => {
    const m = enc.decode(data) as { id: number; k: string; v?: Uint8Array };
    ws.send(enc.encode(m.v === undefined ? { id: m.id, v: value } : { id: m.id, ok: true }));
  });
});
wss.on('listening', () => console.log('listening'));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
