import { EventEmitter } from 'node:events';
import net from 'node:net';
import { lineReader } from '../../util/json-lines';

// The keeper's side of a holder's own socket (holder.sock, see qemu/holder/hangar-holder.c):
// the holder says hello with its and QEMU's pids, says when serial logging stopped, and when
// QEMU ended, with its exit status; the keeper answers "done" once it has recorded the end,
// and the holder then cleans the run folder and the lock and exits (closing this socket).

export interface QemuExit {
  code: number | null;
  signal: string | null;
}

export interface HolderLinkEvents {
  logStopped: [message: string];
  exit: [QemuExit];
  /** The holder is gone: after an exit, its cleaning is done; without one, it was killed. */
  close: [];
}

const HELLO = /^hello (\d{1,10}) (\d{1,10})$/;
const EXIT = /^exit (-|\d{1,3}) (-|SIG[A-Z0-9+-]{1,16})$/;

export class HolderLink extends EventEmitter<HolderLinkEvents> {
  exit: QemuExit | null = null;
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    readonly holderPid: number,
    readonly qemuPid: number,
  ) {
    super();
    this.closed = new Promise((resolve) => {
      const onClose = (): void => {
        if (this.closedFlag) return;
        this.closedFlag = true;
        resolve();
        this.emit('close');
      };
      socket.on('close', onClose);
      socket.on('error', onClose);
    });
  }

  /** Connects and waits for the hello; rejects when the holder is not there or says something else. */
  static connect(file: string, timeoutMs = 5000): Promise<HolderLink> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(file);
      let link: HolderLink | null = null;
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error('The VM holder did not answer.')), timeoutMs);
      socket.once('error', fail);
      // The holder takes one keeper at a time: it closes on a second one at once.
      socket.once('close', () => link || fail(new Error('The VM holder is kept by another keeper.')));
      socket.setEncoding('utf8');
      socket.on(
        'data',
        lineReader(
          (line) => {
            if (link) return link.handle(line);
            const hello = HELLO.exec(line);
            if (!hello) return fail(new Error('The VM holder sent something unexpected.'));
            clearTimeout(timer);
            socket.off('error', fail);
            link = new HolderLink(socket, Number(hello[1]), Number(hello[2]));
            resolve(link);
          },
          { maxLine: 4096, onOverflow: () => socket.destroy() },
        ),
      );
    });
  }

  private handle(line: string): void {
    if (line.startsWith('log-stopped ')) {
      this.emit('logStopped', line.slice('log-stopped '.length));
      return;
    }
    const exit = EXIT.exec(line);
    if (exit && !this.exit) {
      this.exit = { code: exit[1] === '-' ? null : Number(exit[1]), signal: exit[2] === '-' ? null : exit[2]! };
      this.emit('exit', this.exit);
    }
  }

  /** The end is recorded: the holder may clean up and go. */
  done(): void {
    if (!this.closedFlag) this.socket.write('done\n');
  }

  close(): void {
    this.socket.destroy();
  }
}
