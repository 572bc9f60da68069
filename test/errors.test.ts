import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ShoalError, assert, codeFromWire, isShoalError } from '../src/errors/index.js';

describe('ShoalError', () => {
  it('carries a stable code, HTTP status and JSON body', () => {
    const e = new ShoalError('TOO_LARGE', 'value is 2000000 bytes; the limit is 1048576');
    expect(e.code).toBe('TOO_LARGE');
    expect(e.status).toBe(413);
    expect(e.toJSON()).toEqual({ error: { code: 'too_large', message: 'value is 2000000 bytes; the limit is 1048576' } });
    expect(isShoalError(e, 'TOO_LARGE')).toBe(true);
    expect(isShoalError(e, 'UNAVAILABLE')).toBe(false);
    expect(isShoalError(new Error('x'))).toBe(false);
  });

  it('maps every wire code back to its code, and unknown ones to INTERNAL', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      if (code === 'TIMEOUT' || code === 'OVERLOADED') continue;
      expect(codeFromWire(info.wire)).toBe(code);
    }
    expect(codeFromWire('no_such_code')).toBe('INTERNAL');
  });

  it('has unique wire codes', () => {
    const wires = Object.values(ERROR_CODES).map((i) => i.wire);
    expect(new Set(wires).size).toBe(wires.length);
  });

  it('assert throws a plain Error, not a ShoalError', () => {
    expect(() => assert(false, 'broken')).toThrow('assertion failed: broken');
    expect(() => assert(false, 'broken')).not.toThrow(ShoalError);
  });
});
