import type net from 'node:net';
import { ByteBatch } from './byte-batch';

// The Hangar processes watching a VM's serial console through console.sock. Serial output
// is gathered for a few milliseconds and written to every viewer as one piece. A viewer
// whose socket is full (it stopped reading) gets a batch of its own that grows until the
// socket drains; once what it holds (queued in the socket plus that batch) passes the
// allowance it is disconnected, and the VM and the other viewers go on untouched. Its
// Hangar process notices that the console ended while the VM runs, and says so.

/** How long output may wait to be gathered: well under a frame at 60 Hz. */
export const VIEWER_BATCH_MS = 8;
export const VIEWER_BATCH_BYTES = 64 * 1024;
/** The most a viewer may hold in the keeper: several seconds of a serial flood. */
export const VIEWER_ALLOWANCE_BYTES = 1024 * 1024;

interface Viewer {
  socket: net.Socket;
  /** Output that waits for the socket to drain. */
  backlog: ByteBatch;
  waitingForDrain: boolean;
}

export class ConsoleViewers {
  private readonly viewers = new Set<Viewer>();
  private readonly batch = new ByteBatch();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly allowanceBytes = VIEWER_ALLOWANCE_BYTES) {}

  get count(): number {
    return this.viewers.size;
  }

  /** A new viewer gets the scrollback, framed by its length, then live output. */
  add(socket: net.Socket, scrollback: Buffer): void {
    // Output still in the batch is already in the scrollback: the others get it first, so the
    // newcomer sees each byte once.
    this.flush();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(scrollback.length);
    const viewer: Viewer = { socket, backlog: new ByteBatch(), waitingForDrain: false };
    this.viewers.add(viewer);
    const leave = (): void => void this.viewers.delete(viewer);
    socket.on('error', leave);
    socket.on('close', leave);
    socket.on('drain', () => this.drained(viewer));
    this.send(viewer, Buffer.concat([header, scrollback]));
  }

  /** Serial output for every viewer; it leaves within VIEWER_BATCH_MS. */
  broadcast(chunk: Buffer): void {
    if (this.viewers.size === 0) return;
    this.batch.append(chunk);
    if (this.batch.size >= VIEWER_BATCH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), VIEWER_BATCH_MS);
  }

  closeAll(): void {
    this.flush();
    for (const viewer of this.viewers) viewer.socket.destroy();
    this.viewers.clear();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.batch.size === 0) return;
    // One Buffer shared by every viewer that can take it now.
    const data = this.batch.take();
    for (const viewer of this.viewers) this.send(viewer, data);
  }

  private send(viewer: Viewer, data: Buffer): void {
    if (viewer.socket.writableLength + viewer.backlog.size + data.length > this.allowanceBytes) {
      this.viewers.delete(viewer);
      viewer.socket.destroy();
      return;
    }
    if (viewer.waitingForDrain) viewer.backlog.append(data);
    else if (!viewer.socket.write(data)) viewer.waitingForDrain = true;
  }

  private drained(viewer: Viewer): void {
    viewer.waitingForDrain = false;
    if (viewer.backlog.size > 0 && !viewer.socket.destroyed && !viewer.socket.write(viewer.backlog.take())) viewer.waitingForDrain = true;
  }
}
