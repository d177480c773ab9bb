import type { CliIo } from './command';

// The one way an interactive verb (console, ssh) takes this terminal's keys: raw mode while
// it runs (so Ctrl-C and arrows reach the guest), restored however it ends.

export interface KeyReader {
  stop(): void;
}

export function readKeys(input: NonNullable<CliIo['input']>, onKeys: (bytes: Buffer) => void, onEnd: () => void): KeyReader {
  const wasRaw = input.isTTY ? input.setRawMode?.(true) : undefined;
  const keys = (chunk: Buffer | string): void => onKeys(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  input.on('data', keys);
  input.on('end', onEnd);
  input.resume();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      input.off('data', keys);
      input.off('end', onEnd);
      if (input.isTTY && wasRaw !== undefined) input.setRawMode?.(false);
      input.pause();
      // A paused stdin pipe or terminal still holds the process open: let it end here.
      (input as { unref?: () => void }).unref?.();
    },
  };
}
