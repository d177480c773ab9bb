import { Component, lazy, Suspense, type ReactNode } from 'react';

// The console and terminal panes draw with xterm.js and the screen pane with noVNC: together
// most of the window's script. Each loads when its tab is first opened, so the library
// paints without them (test/integration/renderer-chunks.test.ts keeps them out of the entry).

/** The code of a pane did not arrive (told apart from a pane's own failure, which is not caught here). */
class PaneCodeMissing extends Error {}

const loaded = <T,>(load: () => Promise<T>): Promise<T> =>
  load().catch((error: unknown) => {
    throw new PaneCodeMissing(error instanceof Error ? error.message : String(error));
  });

export const ConsolePane = lazy(() => loaded(() => import('../console/ConsolePane')).then((module) => ({ default: module.ConsolePane })));
export const TerminalPane = lazy(() => loaded(() => import('../terminal/TerminalPane')).then((module) => ({ default: module.TerminalPane })));
export const ScreenPane = lazy(() => loaded(() => import('../screen/ScreenPane')).then((module) => ({ default: module.ScreenPane })));

/** A pane that loads its code on first use: "Loading…" meanwhile, a sentence if the code cannot be had. */
export function LoadedPane({ what, children }: { what: string; children: ReactNode }) {
  return (
    <PaneLoadError what={what}>
      <Suspense
        fallback={
          <p className="pane-loading" role="status">
            Loading the {what}…
          </p>
        }
      >
        {children}
      </Suspense>
    </PaneLoadError>
  );
}

/**
 * The code of a pane could not be loaded: typically `hangar web` was stopped, or started
 * again from another build, since the window was opened. React keeps a failed import failed,
 * so the way out is a reload.
 */
class PaneLoadError extends Component<{ what: string; children: ReactNode }, { failed: Error | null }> {
  override state: { failed: Error | null } = { failed: null };

  static getDerivedStateFromError(error: unknown): { failed: Error } {
    return { failed: error instanceof Error ? error : new Error(String(error)) };
  }

  override render(): ReactNode {
    const { failed } = this.state;
    if (failed === null) return this.props.children;
    // Any other failure is the pane's own: it goes on to whatever handles those.
    if (!(failed instanceof PaneCodeMissing)) throw failed;
    return (
      <div className="error-banner" role="alert">
        <p>
          The {this.props.what} could not be loaded ({failed.message}). Reload the window; if Hangar was stopped or updated since it was opened, open Hangar again.
        </p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
