import type { WebSocket } from 'ws';
import { ClientFrame, type ServerFrame } from '../../src-shared/wire';
import { dispatch } from '../api/dispatch';
import type { HangarService } from '../api/service';
import { CALLS_IN_FLIGHT_PER_CLIENT, CALLS_PER_TURN_PER_CLIENT, CALLS_WAIT_ABOVE_UNREAD_BYTES, SEND_BUFFER_BYTES } from './caps';
import { ClientEvents } from './client-events';

// One browser tab (or any program with the session cookie) on the API WebSocket. Every
// client could hurt the others by sending faster than Hangar answers or by not reading
// what it is sent, so each gets bounds (caps.ts). Calls wait, in order, while
// CALLS_IN_FLIGHT_PER_CLIENT run or while more than CALLS_WAIT_ABOVE_UNREAD_BYTES of what
// was sent is unread, and the socket is not read meanwhile, so TCP makes the client wait
// too. A client also starts at most CALLS_PER_TURN_PER_CLIENT calls per turn of the event
// loop, so a flood of quick calls cannot hold the loop from everyone else. Waiting rather
// than refusing: a page that asks for many things at once (a thumbnail per VM) is not
// broken and needs no retry logic, and a flood is held back by the client's own socket,
// not by our memory. Events (a console's output) cannot wait for a client: one
// that leaves more than SEND_BUFFER_BYTES unread is closed.

/** How long a closing client gets to take its close frame before the socket is let go. */
const CLOSE_GRACE_MS = 2000;

/** Closes with a reason, and lets go of the socket (and what waits in it) if the client does not answer. */
export function closeClient(client: WebSocket, code: number, reason: string): void {
  client.close(code, reason);
  setTimeout(() => client.terminate(), CLOSE_GRACE_MS).unref();
}

export function serveClient(client: WebSocket, service: HangarService): void {
  const routes = new ClientEvents();
  const waiting: ClientFrame[] = [];
  let inFlight = 0;
  let gone = false;
  // Calls this client may still start in this turn of the event loop; the next turn refills it.
  let budget = CALLS_PER_TURN_PER_CLIENT;
  let nextTurn: NodeJS.Immediate | null = null;
  const unsubscribe = service.events.onAny((name, payload) => {
    if (routes.wants(name, payload)) send({ type: 'event', name, payload });
  });

  function send(frame: ServerFrame): void {
    if (client.readyState !== client.OPEN) return;
    // Once a frame has gone to the kernel, calls that waited for the client to read may run.
    client.send(JSON.stringify(frame), () => {
      if (waiting.length > 0) pump();
    });
    if (client.bufferedAmount > SEND_BUFFER_BYTES) {
      console.error(`hangar web: closed a client that is not reading: ${(client.bufferedAmount / 1024 / 1024).toFixed(1)} MiB waited to be sent to it.`);
      // The reason reaches a client that is only slow; one that never reads never sees it.
      closeClient(client, 1008, 'Hangar closed this connection because the page did not keep up with what Hangar sent. Reload the page.');
      // Now, not once the socket is gone: its own terminal may be what floods it.
      leave();
    }
  }

  function run(frame: ClientFrame): void {
    inFlight++;
    void dispatch(service.api, frame.method, frame.input).then((result) => {
      inFlight--;
      // Before the reply: the events that follow it (a console's output) must find the route.
      routes.noteReply(frame.method, result);
      if (gone) closeTerminals();
      send({ type: 'reply', id: frame.id, result });
      pump();
    });
  }

  /** Takes one call from this turn's budget; the first one taken books the refill (and a pump) for the next turn. */
  function spend(): boolean {
    if (budget === 0) return false;
    budget--;
    nextTurn ??= setImmediate(() => {
      nextTurn = null;
      budget = CALLS_PER_TURN_PER_CLIENT;
      pump();
    });
    return true;
  }

  function pump(): void {
    const behind = (): boolean => client.bufferedAmount > CALLS_WAIT_ABOVE_UNREAD_BYTES;
    while (!gone && inFlight < CALLS_IN_FLIGHT_PER_CLIENT && waiting.length > 0 && !behind() && spend()) run(waiting.shift() as ClientFrame);
    // ws may still hand over frames it had already read; they wait in `waiting`, in order.
    if (inFlight >= CALLS_IN_FLIGHT_PER_CLIENT || waiting.length > 0) client.pause();
    else if (client.isPaused) client.resume();
  }

  // Terminals are the client's own: nobody else can see them, so they end with it.
  function closeTerminals(): void {
    for (const terminal of routes.openTerminals()) void dispatch(service.api, 'closeTerminal', { terminal });
  }

  function leave(): void {
    if (gone) return;
    gone = true;
    waiting.length = 0;
    if (nextTurn) clearImmediate(nextTurn);
    unsubscribe();
    closeTerminals();
  }

  client.on('close', leave);
  // An oversized or malformed frame is that client's problem: drop it, keep serving the rest.
  client.on('error', (error) => {
    console.error('hangar web: dropped a client:', error.message);
    client.terminate();
  });
  client.on('message', (data, isBinary) => {
    if (gone) return;
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      parsed = undefined;
    }
    const frame = ClientFrame.safeParse(parsed);
    if (!frame.success) {
      // Without a valid id there is no one to answer: a client that sends this is broken.
      client.close(1008, 'Messages must be JSON calls: {type:"call", id, method, input}.');
      return;
    }
    waiting.push(frame.data);
    pump();
  });
}
