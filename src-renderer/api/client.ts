import { events, isEventName, methodNames, methods, type EventName, type EventPayload, type HangarApi, type MethodName } from '../../src-shared/contract';
import { HangarError } from '../../src-shared/errors';
import type { Transport } from './transport';

export interface ApiClient extends HangarApi {
  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/** The typed API over any transport: failures become HangarErrors, answers are checked against the contract. */
export function createApiClient(transport: Transport): ApiClient {
  const call = async (method: MethodName, input: unknown): Promise<unknown> => {
    const result = await transport.invoke(method, input);
    if (!result.ok) throw HangarError.fromInfo(result.error);
    const answer = methods[method].output.safeParse(result.value);
    // A person sees a sentence, never a schema's dump; the details go to the console.
    if (!answer.success) {
      console.error(`hangar: the answer to ${method} does not match the contract:`, answer.error.issues);
      throw new HangarError('INTERNAL', `Hangar answered “${method}” with something this window does not understand. Reload the window; if that does not help, the window and Hangar are from different versions.`);
    }
    return answer.data;
  };
  const api = Object.fromEntries(methodNames.map((method) => [method, (input: unknown) => call(method, input)])) as unknown as HangarApi;
  return {
    ...api,
    on(name, listener) {
      return transport.onEvent((eventName, payload) => {
        if (eventName !== name || !isEventName(eventName)) return;
        const parsed = events[name].safeParse(payload);
        if (parsed.success) listener(parsed.data as EventPayload<typeof name>);
        else console.error(`hangar: ignored a malformed ${name} event`);
      });
    },
  };
}
