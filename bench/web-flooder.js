// Forked by bench/web-host.bench.ts: one client of `hangar web` that fires CALLS listVms at
// once and reads every answer, in a process of its own so that its parsing does not slow
// the bench's own measuring client. Arguments: API_URL ORIGIN COOKIE_HEADER CALLS.
// It tells its parent "open" once connected and { done, ms } when every answer is in.
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

const [url, origin, cookie, calls] = process.argv.slice(2);
const total = Number(calls);
const socket = new WebSocket(url, { origin, headers: { Cookie: cookie } });
let answers = 0;
let failures = 0;
let began = 0;

socket.on('open', () => {
  process.send({ open: true });
  process.once('message', () => {
    began = performance.now();
    for (let id = 0; id < total; id++) socket.send(JSON.stringify({ type: 'call', id, method: 'listVms', input: {} }));
  });
});
socket.on('message', (data) => {
  const frame = JSON.parse(String(data));
  if (frame.type !== 'reply') return;
  answers++;
  if (!frame.result.ok) failures++;
  if (answers === total) {
    process.send({ done: true, ms: performance.now() - began, failures });
    socket.terminate();
  }
});
socket.on('error', (error) => {
  console.error(`web-flooder: ${error.message}`);
  process.exit(1);
});
