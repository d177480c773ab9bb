import { beforeEach, describe, expect, it, vi } from 'vitest';
import { methodNames, type HangarHandlers } from '../../../src-shared/contract';
import { HangarError } from '../../../src-shared/errors';
import { dispatch } from '../../../src-main/api/dispatch';

const appInfo = { name: 'Hangar' as const, version: '1.2.3', door: 'cli' as const, platform: 'linux-x64' };

function apiWith(overrides: Partial<HangarHandlers>): HangarHandlers {
  const unused = Object.fromEntries(
    methodNames.map((method) => [
      method,
      async () => {
        throw new Error(`${method} is not used in this test`);
      },
    ]),
  ) as unknown as HangarHandlers;
  return { ...unused, getAppInfo: async () => appInfo, ...overrides };
}

describe('dispatch', () => {
  // Unexpected failures are logged for the developer; keep the test output readable.
  beforeEach(() => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
  });

  it('answers a valid call with the value', async () => {
    expect(await dispatch(apiWith({}), 'getAppInfo', {})).toEqual({ ok: true, value: appInfo });
  });

  it('treats a missing input as an empty one', async () => {
    expect(await dispatch(apiWith({}), 'getAppInfo', undefined)).toMatchObject({ ok: true });
  });

  it.each([
    ['an unknown key', { surprise: true }],
    ['a string', 'hello'],
    ['an array', [1, 2]],
    ['a number', 42],
  ])('refuses input that is %s, naming the method', async (_what, input) => {
    const result = await dispatch(apiWith({}), 'getAppInfo', input);
    expect(result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(!result.ok && result.error.message).toContain('getAppInfo');
  });

  it.each(['nope', 'constructor', '__proto__', 'toString', ''])('refuses the method name %j', async (method) => {
    expect(await dispatch(apiWith({}), method, {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
  });

  it('passes a HangarError through with its code and words', async () => {
    const api = apiWith({
      checkHost: async () => {
        throw new HangarError('HOST_CHECK_FAILED', 'The host check could not finish: boom');
      },
    });
    expect(await dispatch(api, 'checkHost', {})).toEqual({ ok: false, error: { code: 'HOST_CHECK_FAILED', message: 'The host check could not finish: boom' } });
  });

  it('turns an unexpected exception into INTERNAL with its message', async () => {
    const api = apiWith({
      getAppInfo: async () => {
        throw new TypeError('x is undefined');
      },
    });
    const result = await dispatch(api, 'getAppInfo', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(!result.ok && result.error.message).toContain('x is undefined');
  });

  it('refuses to send out a result that breaks the contract', async () => {
    const api = apiWith({ getAppInfo: async () => ({ ...appInfo, secret: 'leak' }) as never });
    expect(await dispatch(api, 'getAppInfo', {})).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });

  it('refuses a value out of its bounds with the rule\'s own sentence, never a schema dump', async () => {
    const result = await dispatch(apiWith({}), 'previewVm', { name: 'x', memoryMiB: -5 });
    expect(result).toEqual({ ok: false, error: { code: 'BAD_REQUEST', message: 'The memory must be at least 64 MiB.' } });
  });

  it('names the method and the field when a client sends the wrong type', async () => {
    const result = await dispatch(apiWith({}), 'previewVm', { name: 'x', cpus: 'two' });
    expect(!result.ok && result.error.message).toMatch(/^The request for previewVm is not valid: .* \(at cpus\)\.$/);
    expect(!result.ok && result.error.message).not.toContain('✖');
  });
});
