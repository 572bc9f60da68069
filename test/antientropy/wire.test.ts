// The anti-entropy messages as src/wire validates them: what an exchange sends and what
// the answering helpers return pass the peer codec; malformed ones are refused.
import { describe, expect, it } from 'vitest';
import { answerLevels, Exchange, KeysPage, PartitionTree } from '../../src/antientropy/index.js';
import { createPeerCodec, validatePeerMessage, type PeerMessage } from '../../src/wire/index.js';
import { digestOf } from './helpers.js';

const opts = { maxValueBytes: 1024 };
const codec = createPeerCodec(opts);

describe('anti-entropy messages on the wire', () => {
  it('round-trips every message an exchange between two real trees produces', () => {
    const a = PartitionTree.build(Array.from({ length: 300 }, (_, i): [string, Uint8Array] => [`k${i}`, digestOf(i)]));
    const b = PartitionTree.build(Array.from({ length: 300 }, (_, i): [string, Uint8Array] => [`k${i}`, digestOf(i === 5 ? -5 : i)]));
    const ex = new Exchange(a, 63);
    let step = ex.start();
    let seen = 0;
    while (!step.done) {
      const to = step.to;
      const req = codec.decode(codec.encode(step.msg));
      expect(req).toMatchObject({ t: step.msg.t, p: 63 });
      let reply: PeerMessage;
      if (req.t === 'ae_levels') reply = answerLevels(to === 'peer' ? b : a, req);
      else if (req.t === 'ae_keys') {
        const page = new KeysPage(to === 'peer' ? b : a, req);
        for (let i = 0; i < 300; i++) page.offer(`k${i}`, () => digestOf(to === 'peer' && i === 5 ? -5 : i));
        reply = page.reply();
      } else throw new Error(`unexpected ${req.t}`);
      const back = codec.decode(codec.encode(reply));
      if (back.t !== 'ae_levels_ok' && back.t !== 'ae_keys_ok') throw new Error(`unexpected ${back.t}`);
      step = ex.onReply(back);
      seen++;
    }
    expect(step.keys).toEqual(['k5']);
    expect(seen).toBeGreaterThan(3);
  });

  it('refuses hashes that are not whole 8-byte units, digests of another length, and oversized requests', () => {
    const bad: unknown[] = [
      { t: 'ae_levels_ok', hashes: new Uint8Array(9) },
      { t: 'ae_keys_ok', keys: [['k', new Uint8Array(7)]], more: false },
      { t: 'ae_keys_ok', keys: Array.from({ length: 1001 }, (_, i) => [`k${i}`, new Uint8Array(8)]), more: true },
      { t: 'ae_levels', p: 0, width: 1024, fan: 32, level: 0, idx: Array.from({ length: 1025 }, () => 0) },
      { t: 'ae_keys', p: 0, width: 1024, segs: Array.from({ length: 65 }, () => 0) },
      { t: 'ae_keys', p: 0, width: 1024, segs: [0], after: '' },
      { t: 'ae_levels', p: 0, width: 0, fan: 32, level: 0, idx: [0] },
    ];
    for (const m of bad) expect(() => validatePeerMessage(m, opts), JSON.stringify(m).slice(0, 80)).toThrow(expect.objectContaining({ code: 'DECODE' }));
  });
});
