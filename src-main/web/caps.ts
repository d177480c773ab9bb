// How much one `hangar web` gives its clients. Any program of this user can connect to the
// loopback port (the session cookie only decides who may call), so each bound holds against
// a client that never reads, floods calls or opens connections in a loop. ARCHITECTURE.md
// ("One contract, three doors") states them and what they cost in memory.

/** Calls one client may have running at once. More wait in order: the host stops reading its socket until one ends. */
export const CALLS_IN_FLIGHT_PER_CLIENT = 32;

/**
 * Calls one client may start in one turn of the event loop; the rest start in the next turn.
 * A call that needs no I/O (listVms answers from memory) ends in microtasks, and its end
 * starts the next one, so without this a client's queued calls would all run before the
 * loop turns. Libuv reads a busy socket up to 32 times a turn, so one flooding client kept
 * every other client, and the keepers' replies, waiting for seconds (measured: one turn of
 * 3.5 s serving 30,000 listVms).
 */
export const CALLS_PER_TURN_PER_CLIENT = 32;

/** While more than this waits to be taken by a client, its next calls wait: a client that does not read its answers gets no more work done. */
export const CALLS_WAIT_ABOVE_UNREAD_BYTES = 1024 * 1024;

/** A client whose frames not yet taken by its socket pass this is closed: it is not reading (events, unlike answers, cannot wait). */
export const SEND_BUFFER_BYTES = 8 * 1024 * 1024;

/** API WebSockets open at once (a tab each). One more is accepted only to be told why it is closed. */
export const API_CLIENTS = 16;

/** TCP connections of every kind (page loads, uploads, API, screens) the server keeps at once; more are dropped unanswered. */
export const CONNECTIONS = 128;
