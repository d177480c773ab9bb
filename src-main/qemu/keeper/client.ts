import { EventEmitter } from 'node:events';
import net from 'node:net';
import { lineReader } from '../../util/json-lines';
import type { ErrorCode } from '../../../src-shared/errors';
import type { VmProblem, VmState } from '../../../src-shared/vm';
import { KeeperHello, KeeperMessage, SaveReply, type KeeperRequest } from './protocol';

export interface KeeperClientEvents {
  state: [VmState, VmProblem | null];
  event: [string, Record<string, unknown> | undefined];
  gone: [];
}

export class KeeperCommandError extends Error {
  constructor(
    readonly qmpClass: string,
    message: string,
    /** Set when the keeper itself refused, in the API's terms (NO_SPACE, VM_BUSY ...). */
    readonly code?: ErrorCode,
  ) {
    super(message);
  }
}

/** One Hangar process's connection to a VM's keeper (control.sock). */
export class KeeperClient extends EventEmitter<KeeperClientEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private gone = false;
  state: VmState;
  problem: VmProblem | null;

  private constructor(
    private readonly socket: net.Socket,
    readonly hello: KeeperHello,
  ) {
    super();
    this.state = hello.state;
    this.problem = hello.problem;
    socket.on('close', () => this.markGone());
    socket.on('error', () => this.markGone());
  }

  static connect(controlSocket: string, timeoutMs = 5000): Promise<KeeperClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(controlSocket);
      const timer = setTimeout(() => fail(new Error('The VM keeper did not answer.')), timeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once('error', fail);
      socket.setEncoding('utf8');
      let client: KeeperClient | null = null;
      // The first line is the hello; everything after it belongs to the client.
      const onData = lineReader((line) => {
        if (client) return client.handleLine(line);
        clearTimeout(timer);
        socket.off('error', fail);
        let hello: KeeperHello;
        try {
          hello = KeeperHello.parse(JSON.parse(line));
        } catch {
          fail(new Error('The VM keeper sent something unexpected.'));
          return;
        }
        client = new KeeperClient(socket, hello);
        resolve(client);
      });
      socket.on('data', onData);
    });
  }

  get isConnected(): boolean {
    return !this.gone;
  }

  execute<T = unknown>(execute: Extract<KeeperRequest, { type: 'qmp' }>['execute'], args?: Record<string, unknown>): Promise<T> {
    return this.send((id) => ({ type: 'qmp', id, execute, ...(args ? { arguments: args } : {}) })) as Promise<T>;
  }

  /** Resolves when QEMU sends `name` with data that matches; rejects after the timeout, or when the keeper goes. */
  waitForEvent(name: string, matches: (data: Record<string, unknown> | undefined) => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | null): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('gone', onGone);
        if (error) reject(error);
        else resolve();
      };
      const onEvent = (event: string, data: Record<string, unknown> | undefined): void => {
        if (event === name && matches(data)) done(null);
      };
      const onGone = (): void => done(new KeeperCommandError('Disconnected', 'The VM is no longer running.'));
      const timer = setTimeout(() => done(new KeeperCommandError('Timeout', `QEMU did not report ${name} within ${Math.round(timeoutMs / 1000)} s.`)), timeoutMs);
      this.on('event', onEvent);
      this.once('gone', onGone);
    });
  }

  /** Saves the VM's state to its folder; resolves once it is on disk (QEMU is then quitting). */
  async save(): Promise<SaveReply> {
    return SaveReply.parse(await this.send((id) => ({ type: 'save', id })));
  }

  private send(request: (id: number) => KeeperRequest): Promise<unknown> {
    if (this.gone) return Promise.reject(new KeeperCommandError('Disconnected', 'The VM is no longer running.'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(JSON.stringify(request(id)) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** One message from the keeper (after the hello). */
  handleLine(line: string): void {
    let message: KeeperMessage;
    try {
      message = KeeperMessage.parse(JSON.parse(line));
    } catch {
      return;
    }
    if (message.type === 'state') {
      this.state = message.state;
      this.problem = message.problem;
      this.emit('state', message.state, message.problem);
    } else if (message.type === 'event') {
      this.emit('event', message.event, message.data);
    } else if (message.type === 'reply') {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiter) return;
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new KeeperCommandError(message.error?.qmpClass ?? 'GenericError', message.error?.message ?? 'QEMU refused the command.', message.error?.code));
    }
  }

  private markGone(): void {
    if (this.gone) return;
    this.gone = true;
    for (const waiter of this.pending.values()) waiter.reject(new KeeperCommandError('Disconnected', 'The VM is no longer running.'));
    this.pending.clear();
    this.emit('gone');
  }
}
