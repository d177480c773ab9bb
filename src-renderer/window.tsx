import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import type { Connection } from './api/connect';
import type { AppStore } from './store';
import { ClientContext, StoreContext } from './store/react';

/** Draws the window (React and its screens) over a store that is already being filled. */
export function showWindow(root: HTMLElement, connection: Connection, store: AppStore): void {
  createRoot(root).render(
    <StrictMode>
      <ClientContext.Provider value={connection.client}>
        <StoreContext.Provider value={store}>
          <App />
        </StoreContext.Provider>
      </ClientContext.Provider>
    </StrictMode>,
  );
}
