import { expect } from 'vitest';
import { HangarError } from '../../src-shared/errors';

/** The HangarError a promise is refused with (and a failed test if it resolves or throws something else). */
export async function refusal(promise: Promise<unknown>): Promise<HangarError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HangarError);
  return error as HangarError;
}
