/**
 * The anti-entropy peer messages, as the exchange produces and consumes them. They are
 * declared here until src/wire carries them; the shapes are the wire's.
 */

/** Hashes of nodes `idx` at `level` of partition `p`'s tree; the tree must have `width` segments and fanout `fan`. */
export interface AeLevelsMsg { t: 'ae_levels'; p: number; width: number; fan: number; level: number; idx: number[] }
/** The hashes asked for, 8 bytes each, concatenated in the order of `idx`. */
export interface AeLevelsOkMsg { t: 'ae_levels_ok'; hashes: Uint8Array }
/** The (key, digest) pairs of segments `segs` of partition `p`, in UTF-8 key order, after key `after`. */
export interface AeKeysMsg { t: 'ae_keys'; p: number; width: number; segs: number[]; after?: string }
/** One page of pairs; `more` = there are further pairs after the last key. */
export interface AeKeysOkMsg { t: 'ae_keys_ok'; keys: Array<[key: string, digest: Uint8Array]>; more: boolean }
/** The peer's error answer. */
export interface AeErrorMsg { t: 'err'; code: string; msg: string }

export type AeRequest = AeLevelsMsg | AeKeysMsg;
export type AeReply = AeLevelsOkMsg | AeKeysOkMsg | AeErrorMsg;
