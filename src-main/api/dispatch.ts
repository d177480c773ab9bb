import { z } from 'zod';
import { isMethodName, methods, type HangarHandlers, type MethodName } from '../../src-shared/contract';
import { HangarError, type ErrorInfo } from '../../src-shared/errors';
import type { CallResult } from '../../src-shared/wire';

// The one place where a call from outside becomes a call on the service: the method name
// is checked against the contract, the input parsed by its schema, the output checked on
// the way back, and every failure turned into an error value a client can show.

export async function dispatch(api: HangarHandlers, method: string, rawInput: unknown): Promise<CallResult> {
  if (!isMethodName(method)) {
    return { ok: false, error: { code: 'UNKNOWN_METHOD', message: `Hangar has no method called "${method.slice(0, 64)}".` } };
  }
  const spec = methods[method];
  const input = spec.input.safeParse(rawInput ?? {});
  if (!input.success) return { ok: false, error: { code: 'BAD_REQUEST', message: requestProblem(method, input.error) } };
  try {
    const value = await (api[method] as (input: unknown) => Promise<unknown>)(input.data);
    return { ok: true, value: spec.output.parse(value) };
  } catch (error) {
    return { ok: false, error: toErrorInfo(method, error) };
  }
}

/**
 * A refused request in one sentence a person can read. The schemas' own rules (limits.ts)
 * already speak in sentences and are passed on as they are; anything else (a wrong type, an
 * unknown key: a broken client, not a person) names the method and the field.
 */
function requestProblem(method: MethodName, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `The request for ${method} is not valid.`;
  if (issue.code === 'custom') return issue.message;
  const where = issue.path.length > 0 ? ` (at ${issue.path.map(String).join('.')})` : '';
  return `The request for ${method} is not valid: ${issue.message}${where}.`;
}

function toErrorInfo(method: MethodName, error: unknown): ErrorInfo {
  if (error instanceof HangarError) return error.toInfo();
  console.error(`hangar: ${method} failed:`, error);
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: `Something went wrong inside Hangar while running ${method}: ${message}` };
}
