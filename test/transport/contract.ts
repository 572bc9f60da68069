/**
 * The Transport contract: one suite, run on the WebSocket transport (real sockets) and on
 * the memory transport (abstract-level's shared-suite pattern). Anything the node relies
 * on belongs here, so the simulator's transport cannot behave differently from production.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/errors/index.js';
import type { TransportLimits } from '../../src/transport/index.js';
import { bytes, expectCode, linkEvent, text, waitFor, type Pair, type PairFactory } from './helpers.js';

export function transportContract(name: string, makePair: PairFactory): void {
  describe(`Transport contract: ${name}`, () => {
    let pair: Pair | undefined;
    const open = async (limits?: Partial<TransportLimits>): Promise<Pair> => {
      pair = await makePair(limits);
      return pair;
    };
    afterEach(async () => {
      await pair?.dispose();
      pair = undefined;
    });

    it('answers a request with the reply of the other side', async () => {
      const { a, b, connect } = await open();
      b.onMessage((from, payload, reply) => {
        expect(reply).not.toBeNull();
        reply?.(bytes(`${from} asked ${text(payload)}`));
      });
      await connect();
      expect(text(await a.request('b', bytes('ping'), 5_000))).toBe('a asked ping');
      // The other direction works too (b answers or sends on a link a dialed, or its own).
      a.onMessage((_from, payload, reply) => reply?.(bytes(`a saw ${text(payload)}`)));
      expect(text(await b.request('a', bytes('hi'), 5_000))).toBe('a saw hi');
    });

    it('delivers one-way messages without a reply function', async () => {
      const { a, b, connect } = await open();
      const got: string[] = [];
      b.onMessage((from, payload, reply) => {
        expect(reply).toBeNull();
        got.push(`${from}:${text(payload)}`);
      });
      await connect();
      for (let i = 0; i < 5; i++) expect(a.send('b', bytes(`m${i}`))).toBe(true);
      await waitFor(() => got.length === 5, 'five one-way messages');
      expect(got).toEqual(['a:m0', 'a:m1', 'a:m2', 'a:m3', 'a:m4']);
    });

    it('drops sends and refuses requests to a peer without a link', async () => {
      const { a } = await open();
      expect(a.send('nobody', bytes('x'))).toBe(false);
      await expectCode(a.request('nobody', bytes('x'), 1_000), 'CLOSED');
      expect(a.stats().peers['nobody']?.dropped).toBe(1);
    });

    it('rejects with TIMEOUT when no answer comes, and ignores the late answer', async () => {
      const { a, b, connect } = await open();
      const held: Array<(answer: Uint8Array) => void> = [];
      b.onMessage((_from, _payload, reply) => {
        if (reply) held.push(reply);
      });
      await connect();
      await expectCode(a.request('b', bytes('slow'), 20), 'TIMEOUT');
      expect(a.stats().peers['b']?.timeouts).toBe(1);
      expect(a.stats().peers['b']?.inFlight).toBe(0);
      // The late answer must not confuse a later request that may reuse the slot.
      held[0]?.(bytes('too late'));
      b.onMessage((_from, payload, reply) => reply?.(payload));
      expect(text(await a.request('b', bytes('fresh'), 5_000))).toBe('fresh');
    });

    it('passes an error reply to the requester with its code', async () => {
      const { a, b, connect } = await open();
      b.onMessage((_from, payload, reply) => {
        if (text(payload) === 'throw') throw new Error('handler bug');
        reply?.(new ShoalError('UNAVAILABLE', 'not enough replicas'));
      });
      await connect();
      const err = await expectCode(a.request('b', bytes('x'), 5_000), 'UNAVAILABLE');
      expect(err.message).toBe('not enough replicas');
      await expectCode(a.request('b', bytes('throw'), 5_000), 'INTERNAL');
    });

    it('refuses requests beyond the in-flight limit with OVERLOADED, and accepts again once answered', async () => {
      const { a, b, connect } = await open({ inFlightMax: 4 });
      const held: Array<(answer: Uint8Array) => void> = [];
      b.onMessage((_from, payload, reply) => {
        if (reply) held.push(() => reply(payload));
      });
      await connect();
      const first = [0, 1, 2, 3].map((i) => a.request('b', bytes(`r${i}`), 5_000));
      expect(a.stats().peers['b']?.inFlight).toBe(4);
      await expectCode(a.request('b', bytes('r4'), 5_000), 'OVERLOADED');
      await waitFor(() => held.length === 4, 'four requests at b');
      for (const answer of held) answer(bytes(''));
      expect((await Promise.all(first)).map(text)).toEqual(['r0', 'r1', 'r2', 'r3']);
      b.onMessage((_from, payload, reply) => reply?.(payload));
      expect(text(await a.request('b', bytes('r5'), 5_000))).toBe('r5');
    });

    it('answers OVERLOADED for requests beyond the incoming limit without calling the handler', async () => {
      const { a, b, connect } = await open({ incomingInFlightMax: 2 });
      let calls = 0;
      b.onMessage(() => {
        calls++;
      });
      await connect();
      const held = [a.request('b', bytes('1'), 5_000), a.request('b', bytes('2'), 5_000)];
      await waitFor(() => calls === 2, 'two requests at b');
      await expectCode(a.request('b', bytes('3'), 5_000), 'OVERLOADED');
      expect(calls).toBe(2);
      held.forEach((p) => p.catch(() => {}));
    });

    it('rejects pending requests with CLOSED when the link drops', async () => {
      const { a, b, connect } = await open();
      let seen = 0;
      b.onMessage(() => {
        seen++;
      });
      await connect();
      const pending = [a.request('b', bytes('1'), 10_000), a.request('b', bytes('2'), 10_000)].map((p) => expectCode(p, 'CLOSED'));
      await waitFor(() => seen === 2, 'requests at b');
      const down = linkEvent(a, 'b', false);
      await b.close();
      await Promise.all(pending);
      await down;
      expect(a.stats().peers['b']?.inFlight).toBe(0);
    });

    it('rejects pending requests with CLOSED on removePeer', async () => {
      const { a, b, connect } = await open();
      b.onMessage(() => {});
      await connect();
      const p = a.request('b', bytes('1'), 10_000);
      a.removePeer('b');
      await expectCode(p, 'CLOSED');
    });

    it('carries large payloads intact and refuses ones over the limit', async () => {
      const { a, b, connect } = await open({ payloadBytesMax: 3 * 1_048_576 });
      b.onMessage((_from, payload, reply) => reply?.(payload.slice().reverse()));
      await connect();
      const big = new Uint8Array(3 * 1_048_576);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 9)) & 0xff;
      const answer = await a.request('b', big, 10_000);
      expect(answer.length).toBe(big.length);
      expect(Buffer.from(answer).equals(Buffer.from(big.slice().reverse()))).toBe(true);
      await expectCode(a.request('b', new Uint8Array(3 * 1_048_576 + 1), 5_000), 'TOO_LARGE');
      expect(a.send('b', new Uint8Array(3 * 1_048_576 + 1))).toBe(false);
    });

    it('correlates many concurrent requests, answered out of order', async () => {
      const { a, b, connect } = await open();
      const held: Array<() => void> = [];
      b.onMessage((_from, payload, reply) => {
        if (reply) held.push(() => reply(bytes(`re:${text(payload)}`)));
      });
      await connect();
      const n = 2_000;
      const all = Array.from({ length: n }, (_, i) => a.request('b', bytes(String(i)), 10_000));
      await waitFor(() => held.length === n, `${n} requests at b`);
      // Answer in a scrambled order: correlation ids, not arrival order, match answers.
      for (let i = 0; i < n; i++) held[(i * 7919) % n]?.();
      const answers = await Promise.all(all);
      answers.forEach((ans, i) => expect(text(ans)).toBe(`re:${i}`));
      const s = a.stats().peers['b'];
      expect(s?.framesSent).toBe(n);
      expect(s?.framesReceived).toBe(n);
    });

    it('close() rejects pending requests, refuses new ones, and is idempotent', async () => {
      const { a, b, connect } = await open();
      b.onMessage(() => {});
      await connect();
      const p = expectCode(a.request('b', bytes('x'), 10_000), 'CLOSED');
      await Promise.all([a.close(), a.close()]);
      await p;
      await expectCode(a.request('b', bytes('y'), 1_000), 'CLOSED');
      expect(a.send('b', bytes('z'))).toBe(false);
      await linkEvent(b, 'a', false);
    });

    it('throws when a reply is sent twice', async () => {
      const { a, b, connect } = await open();
      let second: unknown;
      b.onMessage((_from, _payload, reply) => {
        reply?.(bytes('one'));
        try {
          reply?.(bytes('two'));
        } catch (err) {
          second = err;
        }
      });
      await connect();
      expect(text(await a.request('b', bytes('x'), 5_000))).toBe('one');
      expect(second).toBeInstanceOf(Error);
    });
  });
}
