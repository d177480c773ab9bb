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

type Listener = (...args: unknown[]) => unknown;

/** A tiny EventEmitter with what the shell uses (on, once, emit). */
class Emitter {
  private readonly listeners = new Map<string, Listener[]>();
  on(name: string, listener: Listener): this {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
    return this;
  }
  once(name: string, listener: Listener): this {
    const wrapped: Listener = (...args) => {
      this.listeners.set(name, (this.listeners.get(name) ?? []).filter((candidate) => candidate !== wrapped));
      return listener(...args);
    };
    return this.on(name, wrapped);
  }
  emit(name: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(name) ?? [])]) listener(...args);
  }
  count(name: string): number {
    return this.listeners.get(name)?.length ?? 0;
  }
}

/** An event whose preventDefault is recorded, as Electron's are. */
export function fakeEvent(): { defaultPrevented: boolean; preventDefault(): void } {
  return {
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
  };
}

export class FakeWebContents extends Emitter {
  readonly sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
}

export class FakeBrowserWindow extends Emitter {
  static all: FakeBrowserWindow[] = [];
  static getAllWindows(): FakeBrowserWindow[] {
    return FakeBrowserWindow.all.filter((window) => !window.destroyed);
  }
  readonly webContents = new FakeWebContents();
  loadedUrl: string | null = null;
  focused = false;
  maximized = false;
  minimized = false;
  destroyed = false;
  bounds: { x: number; y: number; width: number; height: number };
  constructor(readonly options: Record<string, unknown>) {
    super();
    this.bounds = { x: Number(options.x ?? 0), y: Number(options.y ?? 0), width: Number(options.width), height: Number(options.height) };
    FakeBrowserWindow.all.push(this);
  }
  loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    return Promise.resolve();
  }
  show(): void {}
  focus(): void {
    this.focused = true;
  }
  isFocused(): boolean {
    return this.focused;
  }
  maximize(): void {
    this.maximized = true;
  }
  isMaximized(): boolean {
    return this.maximized;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  getNormalBounds(): { x: number; y: number; width: number; height: number } {
    return this.bounds;
  }
  /** What a person closing the window sets off. */
  close(): void {
    this.emit('close', fakeEvent());
    this.destroyed = true;
    this.emit('closed');
  }
}

export interface FakeDialogAnswers {
  openFile: string[] | null;
  /** Button index and checkbox for the next message boxes, in order. */
  messageBoxes: { response: number; checkboxChecked: boolean }[];
}

/**
 * The main-process side of Electron, enough to run src-main/electron/app.ts: app, windows,
 * menus, dialogs, notifications, screen, session. It records what the shell asked for.
 */
export function fakeElectronMain({ singleInstance = true, packaged = true, displays = [{ x: 0, y: 0, width: 1920, height: 1080 }] } = {}) {
  FakeBrowserWindow.all = [];
  const app = Object.assign(new Emitter(), {
    /** True when run from a package (AppImage, deb); false under `electron .` (npm start, electron-vite dev). */
    isPackaged: packaged,
    quitCalls: 0,
    sandboxed: false,
    requestSingleInstanceLock: () => singleInstance,
    enableSandbox() {
      app.sandboxed = true;
    },
    whenReady: () => Promise.resolve(),
    quit() {
      app.quitCalls++;
      const event = fakeEvent();
      app.emit('before-quit', event);
      if (!event.defaultPrevented) app.emit('will-quit', fakeEvent());
    },
  });
  const menus: { template: unknown[] }[] = [];
  const dialogs: { kind: 'open' | 'message'; options: Record<string, unknown> }[] = [];
  const answers: FakeDialogAnswers = { openFile: null, messageBoxes: [] };
  const notifications: { title: string; body: string }[] = [];
  const permissions = {
    request: null as null | ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void),
    check: null as null | ((...args: unknown[]) => boolean),
  };
  const ipcMain = new FakeIpcMain();
  class Notification {
    static isSupported(): boolean {
      return true;
    }
    constructor(private readonly options: { title: string; body: string }) {}
    show(): void {
      notifications.push(this.options);
    }
  }
  const module = {
    app,
    BrowserWindow: FakeBrowserWindow,
    ipcMain,
    Notification,
    Menu: {
      buildFromTemplate: (template: unknown[]) => ({ template }),
      setApplicationMenu(menu: { template: unknown[] }) {
        menus.push(menu);
      },
    },
    dialog: {
      async showOpenDialog(...args: unknown[]) {
        dialogs.push({ kind: 'open', options: args.at(-1) as Record<string, unknown> });
        return { canceled: answers.openFile === null, filePaths: answers.openFile ?? [] };
      },
      async showMessageBox(...args: unknown[]) {
        dialogs.push({ kind: 'message', options: args.at(-1) as Record<string, unknown> });
        return answers.messageBoxes.shift() ?? { response: 0, checkboxChecked: false };
      },
    },
    screen: { getAllDisplays: () => displays.map((workArea) => ({ workArea })) },
    session: {
      defaultSession: {
        setPermissionRequestHandler(handler: typeof permissions.request) {
          permissions.request = handler;
        },
        setPermissionCheckHandler(handler: typeof permissions.check) {
          permissions.check = handler;
        },
      },
    },
  };
  return { module, app, ipcMain, menus, dialogs, answers, notifications, permissions, windows: () => FakeBrowserWindow.all };
}
