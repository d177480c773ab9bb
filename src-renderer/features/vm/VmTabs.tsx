import type { ReactNode } from 'react';
import type { VmSummary } from '../../../src-shared/vm';
import { useAppStore } from '../../store/react';
import { hasConsole } from '../../../src-shared/vm-rules';
import type { VmTab } from '../../store/ui-slice';
import { ConsolePane, LoadedPane, ScreenPane, TerminalPane } from './lazy-panes';
import { SettingsPane } from './settings/SettingsPane';

interface TabSpec {
  tab: VmTab;
  label: string;
  render(vm: VmSummary, live: boolean): ReactNode;
}

// Each pane is its own feature; this is only the switch between them. Arrow keys move
// between tabs, as screen-reader users expect of a tablist.
const TABS: readonly TabSpec[] = [
  {
    tab: 'console',
    label: 'Serial console',
    render: (vm, live) => (
      <LoadedPane what="serial console">
        <ConsolePane vm={vm} live={live} />
      </LoadedPane>
    ),
  },
  {
    tab: 'terminal',
    label: 'Terminal',
    render: (vm) => (
      <LoadedPane what="terminal">
        <TerminalPane vm={vm} />
      </LoadedPane>
    ),
  },
  {
    tab: 'screen',
    label: 'Screen',
    render: (vm, live) => (
      <LoadedPane what="screen">
        <ScreenPane vmId={vm.id} vmName={vm.name} running={live} accelerator={vm.accelerator} />
      </LoadedPane>
    ),
  },
  { tab: 'settings', label: 'Settings', render: (vm) => <SettingsPane key={vm.id} vm={vm} /> },
];

export function VmTabs({ vm }: { vm: VmSummary }) {
  const current = useAppStore((state) => state.vmTab);
  const showVmTab = useAppStore((state) => state.showVmTab);
  // Shutting down, QEMU still runs: the guest may print and take keys until it is off.
  const live = hasConsole(vm.state);
  const active = TABS.find((spec) => spec.tab === current) ?? (TABS[0] as TabSpec);
  const move = (step: number): void => {
    const index = TABS.indexOf(active);
    const next = TABS[(index + step + TABS.length) % TABS.length] as TabSpec;
    showVmTab(next.tab);
    document.getElementById(`vm-tab-${next.tab}`)?.focus();
  };
  return (
    <>
      <div
        className="pane-tabs"
        role="tablist"
        aria-label="What of the VM to show"
        onKeyDown={(event) => {
          if (event.key === 'ArrowRight') move(1);
          else if (event.key === 'ArrowLeft') move(-1);
        }}
      >
        {TABS.map((spec) => (
          <button
            key={spec.tab}
            type="button"
            role="tab"
            id={`vm-tab-${spec.tab}`}
            aria-selected={spec.tab === active.tab}
            aria-controls="vm-pane"
            tabIndex={spec.tab === active.tab ? 0 : -1}
            onClick={() => showVmTab(spec.tab)}
          >
            {spec.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="vm-pane" aria-labelledby={`vm-tab-${active.tab}`}>
        {active.render(vm, live)}
      </div>
    </>
  );
}
