import type { EventName, EventPayload } from '../../src-shared/contract';

type Listener<E extends EventName> = (payload: EventPayload<E>) => void;
type AnyListener = (name: EventName, payload: unknown) => void;

/** Events from the service to every connected client, typed by the contract. */
export class EventHub {
  private readonly listeners = new Set<AnyListener>();

  /** Every event, for doors that forward all of them to a client. */
  onAny(listener: AnyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  on<E extends EventName>(name: E, listener: Listener<E>): () => void {
    return this.onAny((eventName, payload) => {
      if (eventName === name) listener(payload as EventPayload<E>);
    });
  }

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(name, payload);
      } catch (error) {
        // One broken client must not stop the others from hearing the event.
        console.error(`hangar: a listener for ${name} failed:`, error);
      }
    }
  }
}
