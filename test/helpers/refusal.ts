import { expect } from 'vitest';
import { SluiceError, type ErrorCode } from '../../src/errors.js';

/** Runs `fn`, which must throw a SluiceError with `code` (status 400 unless given); returns it. */
export function expectRefusal(fn: () => unknown, code: ErrorCode, status = 400): SluiceError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(SluiceError);
  const err = caught as SluiceError;
  expect(err.code).toBe(code);
  expect(err.status).toBe(status);
  return err;
}
