import './zod-jitless';
import { connect } from './api/connect';
import { createAppStore } from './store';
import './styles.css';

// The window opens on the library, and with hundreds of VMs the engine takes longer to
// answer listVms than anything else here takes. So this first script only connects, makes
// the store (no React) and asks for the library; the window's code (React and the
// screens, window.tsx) loads and draws meanwhile, instead of before the question is asked.

const connection = connect();
const store = createAppStore(connection.client, connection.files);
connection.onLost((reason) => store.getState().setConnection({ status: 'lost', reason: `Lost the connection to Hangar: ${reason}` }));

connection.ready.then(
  () => {
    store.getState().setConnection({ status: 'ready' });
    // The library first; the host check (probes that keep the engine busy for 100 ms or
    // more) once the library is in, so it does not hold the library up.
    const library = store.getState().loadVms();
    void store.getState().loadAppInfo().catch(() => {});
    void library.finally(() => store.getState().checkHost());
  },
  (error: unknown) => store.getState().setConnection({ status: 'lost', reason: error instanceof Error ? error.message : String(error) }),
);

const root = document.getElementById('root') as HTMLElement;
import('./window').then(
  ({ showWindow }) => showWindow(root, connection, store),
  (error: unknown) => {
    // Without React there is no screen to show this on: plain text in the page.
    const problem = document.createElement('p');
    problem.setAttribute('role', 'alert');
    problem.textContent = `The window's code could not be loaded (${error instanceof Error ? error.message : String(error)}). Reload the window; if Hangar was stopped or updated since it was opened, open Hangar again.`;
    root.replaceChildren(problem);
  },
);
