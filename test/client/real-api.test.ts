import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type ShoalClient, type WebSocketConstructor } from '../../src/client/node.js';
import { connect as browserConnect } from '../../src/client/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { startApi } from './kv-service.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const apis: ApiServer[] = [];
const clients: ShoalClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

describe('SDK against the real API server (src/api)', () => {
  it('put, siblings, context supersession, delete, ring', async () => {
    const { api, service, address } = await startApi();
    apis.push(api);
    const c = await connect({ endpoints: [address] });
    clients.push(c);
    await c.put('k', 'one');
    await c.put('k', enc.encode('two'), { w: 'quorum' });
    const got = await c.get('k', { r: 'all', timeoutMs: 2000 });
    expect(got.values.map((v) => dec.decode(v))).toEqual(['one', 'two']);
    expect(service.calls.find((x) => x.op === 'get')?.options).toMatchObject({ r: 3, timeoutMs: 2000 });
    await c.put('k', 'merged', { context: got.context });
    expect((await c.get('k')).values.map((v) => dec.decode(v))).toEqual(['merged']);
    await c.delete('k', { context: (await c.get('k')).context });
    expect(await c.get('k')).toMatchObject({ values: [], found: false });
    expect(await c.ring()).toMatchObject({ partitions: 8, n: 3, members: [{ id: 'n1', addr: address }] });
    expect(await c.get('nope')).toEqual({ values: [], context: null, found: false });
  });

  it('server-side errors arrive typed', async () => {
    const { api, address } = await startApi();
    apis.push(api);
    const c = await connect({ endpoints: [address], routing: false });
    clients.push(c);
    await expect(c.put('k', 'v', { context: 'not-a-token' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // The client's own limit is larger than this node's: the server refuses the value.
    await expect(c.put('k', new Uint8Array(2000))).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('a token travels as a header from Node and as a subprotocol from the browser path', async () => {
    const { api, address } = await startApi({ clientToken: 'sekrit' });
    apis.push(api);
    const node = await connect({ endpoints: [address], token: 'sekrit' });
    clients.push(node);
    await node.put('k', 'v');
    const BrowserLike = class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
      }
    } as unknown as WebSocketConstructor;
    const browser = await browserConnect({ endpoints: [address], token: 'sekrit', WebSocket: BrowserLike });
    clients.push(browser);
    expect((await browser.get('k')).values.map((v) => dec.decode(v))).toEqual(['v']);
    await expect(connect({ endpoints: [address], token: 'wrong' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(connect({ endpoints: [address] })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
