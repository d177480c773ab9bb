import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { lineReader } from '../util/json-lines';
import { connectSocket } from '../util/connect-socket';

// A QMP client: the greeting, capability negotiation, commands matched to their replies by
// id, and events delivered as they come. Events can arrive before the reply to the command
// that caused them (STOP before the reply to "stop"), so nothing here assumes an order.

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(
    readonly qmpClass: string,
    message: string,
  ) {
    super(message);
    this.name = 'QmpError';
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export interface QmpClientEvents {
  event: [QmpEvent];
  close: [];
}

export class QmpClient extends EventEmitter<QmpClientEvents> {
  private nextId = 1;
  /** Ids unique to this client: after a reattach, a late reply meant for the previous one matches nothing here. */
  private readonly idPrefix = `h${randomBytes(4).toString('hex')}-`;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  greeting: Record<string, unknown> | null = null;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', lineReader((line) => this.handle(line)));
    socket.on('close', () => this.shutDown(new Error('The QMP connection closed.')));
    socket.on('error', (error) => this.shutDown(error));
  }

  /** Connects to a QMP socket and negotiates capabilities. */
  static async connect(socketPath: string, timeoutMs = 10_000): Promise<QmpClient> {
    return QmpClient.over(await connectSocket(socketPath), timeoutMs);
  }

  /** Speaks QMP over a socket already connected to QEMU's monitor (one handed to QEMU at its start). */
  static async over(socket: net.Socket, timeoutMs = 10_000): Promise<QmpClient> {
    const client = new QmpClient(socket);
    try {
      await client.waitForGreeting(timeoutMs);
      await client.execute('qmp_capabilities');
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /**
   * Speaks QMP over a monitor whose greeting and capability negotiation happened before, with
   * an earlier client (the VM's holder relays one monitor to one keeper after another).
   */
  static attached(socket: net.Socket): QmpClient {
    return new QmpClient(socket);
  }

  private greetingWaiter: ((greeting: Record<string, unknown>) => void) | null = null;

  private waitForGreeting(timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.greeting) return Promise.resolve(this.greeting);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('QEMU did not greet on its QMP socket.')), timeoutMs);
      this.greetingWaiter = (greeting) => {
        clearTimeout(timer);
        resolve(greeting);
      };
      this.once('close', () => {
        clearTimeout(timer);
        reject(new Error('The QMP connection closed before QEMU greeted.'));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('The QMP connection is closed.'));
    const id = `${this.idPrefix}${this.nextId++}`;
    const message: Record<string, unknown> = { execute: command, id };
    if (args) message.arguments = args;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.socket.write(JSON.stringify(message) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private handle(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU only sends JSON here; ignore anything else rather than die
    }
    if ('QMP' in message) {
      this.greeting = message.QMP as Record<string, unknown>;
      this.greetingWaiter?.(this.greeting);
      return;
    }
    if (typeof message.event === 'string') {
      this.emit('event', message as unknown as QmpEvent);
      return;
    }
    const id = typeof message.id === 'string' ? message.id : null;
    const waiter = id ? this.pending.get(id) : undefined;
    if (!id || !waiter) return;
    this.pending.delete(id);
    if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      waiter.reject(new QmpError(error.class ?? 'GenericError', error.desc ?? 'QEMU refused the command.'));
    } else waiter.resolve(message.return);
  }

  private shutDown(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    this.emit('close');
  }
}
