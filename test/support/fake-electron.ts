// A stand-in for the parts of Electron's API that the shell uses. Electron's runtime cannot
// be downloaded on our machines, so the shell's wiring is tested against this named fake;
// everything behind the wiring (dispatch, service) is real.

type Handler = (event: { senderFrame: { url: string; parent: unknown } | null }, ...args: unknown[]) => unknown;

export class FakeIpcMain {
  readonly handlers = new Map<string, Handler>();

  handle(channel: string, handler: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  /** What ipcRenderer.invoke would do, from a frame at `url`. */
  async invoke(channel: string, frame: { url: string; parent: unknown } | null, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler({ senderFrame: frame }, ...args);
  }
}

/** Records what the preload exposes and sends. */
export function fakePreloadElectron() {
  const exposed = new Map<string, unknown>();
  const invoked: { channel: string; args: unknown[] }[] = [];
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  return {
    exposed,
    invoked,
    listeners,
    module: {
      contextBridge: {
        exposeInMainWorld(key: string, api: unknown) {
          exposed.set(key, api);
        },
      },
      webUtils: {
        getPathForFile(file: File) {
          return `/home/ada/Downloads/${file.name}`;
        },
      },
      ipcRenderer: {
        invoke(channel: string, ...args: unknown[]) {
          invoked.push({ channel, args });
          return Promise.resolve({ ok: true, value: null });
        },
        on(channel: string, listener: (...args: unknown[]) => void) {
          (listeners.get(channel) ?? listeners.set(channel, new Set()).get(channel))?.add(listener);
        },
        removeListener(channel: string, listener: (...args: unknown[]) => void) {
          listeners.get(channel)?.delete(listener);
        },
      },
    },
  };
}
