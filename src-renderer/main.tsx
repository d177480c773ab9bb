import './zod-jitless';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { connect } from './api/connect';
import { createAppStore } from './store';
import { ClientContext, StoreContext } from './store/react';
import './styles.css';

const connection = connect();
const store = createAppStore(connection.client, connection.files);
connection.onLost((reason) => store.getState().setConnection({ status: 'lost', reason: `Lost the connection to Hangar: ${reason}` }));

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <ClientContext.Provider value={connection.client}>
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>
    </ClientContext.Provider>
  </StrictMode>,
);

connection.ready.then(
  () => {
    store.getState().setConnection({ status: 'ready' });
    void store.getState().loadAppInfo().catch(() => {});
    void store.getState().checkHost();
    void store.getState().loadVms();
  },
  (error: unknown) => store.getState().setConnection({ status: 'lost', reason: error instanceof Error ? error.message : String(error) }),
);
