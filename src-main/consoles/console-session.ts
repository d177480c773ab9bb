// One Hangar process's connection to a running VM's serial console (through its keeper):
// what the console printed before, then live bytes both ways.

export interface ConsoleSession {
  /** What the console printed before this session attached. */
  scrollback: Buffer;
  onData(listener: (chunk: Buffer) => void): () => void;
  onEnd(listener: () => void): void;
  write(data: Uint8Array | string): void;
  close(): void;
}
