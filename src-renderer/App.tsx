import { HostScreen } from './features/host/HostScreen';
import { DropTarget } from './features/wizard/DropTarget';
import { NewVmWizard } from './features/wizard/NewVmWizard';
import { LibraryScreen } from './features/library/LibraryScreen';
import { StorageScreen } from './features/storage/StorageScreen';
import { VmScreen } from './features/vm/VmScreen';
import type { Screen } from './store/ui-slice';
import { useAppStore } from './store/react';

const NAV: { screen: Screen; label: string }[] = [
  { screen: 'library', label: 'Library' },
  { screen: 'storage', label: 'Storage' },
  { screen: 'host', label: 'Host check' },
];

export function App() {
  const screen = useAppStore((state) => state.screen);
  const showScreen = useAppStore((state) => state.showScreen);
  const connection = useAppStore((state) => state.connection);
  const appInfo = useAppStore((state) => state.appInfo);
  const dropError = useAppStore((state) => state.dropError);
  const dismissDropError = useAppStore((state) => state.dismissDropError);
  // The wizard is modal: nothing behind it takes focus or clicks while it is open.
  const wizardOpen = useAppStore((state) => state.wizardOpen);

  return (
    <DropTarget>
      <div className="app">
        <nav className="sidebar" aria-label="Main" inert={wizardOpen}>
          <div className="brand">Hangar</div>
          <ul>
            {NAV.map((item) => (
              <li key={item.screen}>
                <button
                  type="button"
                  className="nav-item"
                  aria-current={screen === item.screen || (item.screen === 'library' && screen === 'vm') ? 'page' : undefined}
                  onClick={() => showScreen(item.screen)}
                >
                  {item.label}
                </button>
              </li>
            ))}
          </ul>
          {appInfo && <div className="app-version">v{appInfo.version}</div>}
        </nav>
        <main className="content" inert={wizardOpen}>
          {connection.status === 'lost' && (
            <p className="error-banner" role="alert">
              {connection.reason}
            </p>
          )}
          {dropError && (
            <div className="error-banner drop-error" role="alert">
              <span>{dropError}</span>
              <button type="button" onClick={dismissDropError} aria-label="Dismiss">
                ×
              </button>
            </div>
          )}
          {screen === 'host' ? <HostScreen /> : screen === 'vm' ? <VmScreen /> : screen === 'storage' ? <StorageScreen /> : <LibraryScreen />}
        </main>
        <NewVmWizard />
      </div>
    </DropTarget>
  );
}
