import fc from 'fast-check';

/**
 * fast-check runs from a fixed seed in `npm test`, so CI is reproducible: the same
 * commit gives the same generated cases. Explore new cases with SHOAL_FC_SEED=<n> (or
 * SHOAL_FC_SEED=random); a failure prints the seed and path that replay it.
 */
const raw = process.env['SHOAL_FC_SEED'];
if (raw !== 'random') fc.configureGlobal({ seed: raw === undefined ? 20_261_126 : Number(raw) });
