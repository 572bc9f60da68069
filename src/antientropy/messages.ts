/**
 * The anti-entropy peer messages, as the exchange produces and consumes them. Their shapes
 * and schemas live in src/wire (docs/protocol.md lists them); these are the subsets an
 * exchange sends and accepts.
 */
import type { AeKeysMsg, AeKeysOkMsg, AeLevelsMsg, AeLevelsOkMsg, PeerErrorMsg } from '../wire/index.js';

export type { AeKeysMsg, AeKeysOkMsg, AeLevelsMsg, AeLevelsOkMsg };
/** The peer's error answer. */
export type AeErrorMsg = PeerErrorMsg;
export type AeRequest = AeLevelsMsg | AeKeysMsg;
export type AeReply = AeLevelsOkMsg | AeKeysOkMsg | AeErrorMsg;
