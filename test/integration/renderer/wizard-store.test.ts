import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostReport } from '../../../src-shared/host';
import { dispatch } from '../../../src-main/api/dispatch';
import { createApiClient } from '../../../src-renderer/api/client';
import { bridgeFileDoor } from '../../../src-renderer/api/files';
import { createAppStore, type AppStore } from '../../../src-renderer/store';
import { checkSize } from '../../../src-shared/sizing';
import { capacityOf } from '../../../src-renderer/store/wizard-judge';
import { call, makeSandbox, type Sandbox } from '../../support/engine';
import { ensureTestIso } from '../../support/test-iso';

// The wizard's store against the real service, the way the desktop app wires it (the
// preload's transport is dispatch on the service; a dropped file is named where it lies):
// what a person sees prefilled after dropping real ISOs.

let sandbox: Sandbox;
let report: HostReport;
let testIso: string;
const MEMTEST = '/usr/lib/memtest86+/memtest86+x64.iso';
const IPXE = '/usr/lib/ipxe/ipxe.iso';

function storeFor(threads: number): AppStore {
  const service = sandbox.service();
  const client = createApiClient({ invoke: (method, input) => dispatch(service.api, method, input), onEvent: (listener) => service.events.onAny(listener) });
  const byName = new Map([MEMTEST, IPXE, testIso].map((file) => [path.basename(file), file]));
  const store = createAppStore(client, bridgeFileDoor((file) => byName.get(file.name) ?? ''));
  // The real report of this machine, with the thread count a test needs.
  store.setState({ hostReport: { ...report, resources: { ...report.resources, cpu_threads: threads } } });
  return store;
}

/** A file as the page gets it from a drop: its name and bytes (enough of them for the ISO check). */
async function dropped(file: string): Promise<File> {
  const handle = await fs.open(file);
  try {
    const head = Buffer.alloc(64 * 1024);
    await handle.read(head, 0, head.length, 0);
    return new File([head], path.basename(file));
  } finally {
    await handle.close();
  }
}

async function drop(store: AppStore, file: string): Promise<void> {
  await store.getState().takeIsoFile(await dropped(file), false);
  expect(store.getState().media).toMatchObject({ phase: 'ready', error: null });
}

beforeAll(async () => {
  for (const file of [MEMTEST, IPXE]) {
    if (!(await fs.stat(file).catch(() => null))) throw new Error(`${file} is missing: install Debian's memtest86+ and ipxe packages (scripts/setup-host.sh --dev).`);
  }
  testIso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-wizard-store-');
  report = await call(sandbox.service(), 'checkHost', {});
});

afterAll(async () => {
  await sandbox.cleanup();
});

describe('the wizard prefilled from a dropped ISO', () => {
  it('names a tool after itself and gives it no disk, one CPU and little memory', async () => {
    const store = storeFor(8);
    await drop(store, MEMTEST);
    expect(store.getState().draft).toMatchObject({ name: 'Memtest86+', media: 'iso', isoPath: MEMTEST, diskGiB: 0, cpus: 1, memoryMiB: 1024 });
    await drop(store, IPXE);
    expect(store.getState().draft).toMatchObject({ name: 'iPXE', diskGiB: 0 });
  });

  it('names a Linux without a name of its own after its volume id, not "Other Linux"', async () => {
    const store = storeFor(8);
    await drop(store, testIso);
    expect(store.getState().draft.name).toBe('HANGAR_TEST');
  });

  it('never proposes every CPU thread, so it never warns against its own proposal', async () => {
    for (const threads of [1, 2, 4]) {
      const store = storeFor(threads);
      store.getState().openWizard();
      const blank = store.getState().draft;
      expect(checkSize(blank, capacityOf(store.getState().hostReport)).warnings).toEqual([]);
      await drop(store, testIso);
      const { draft } = store.getState();
      expect(draft.cpus, `${threads} threads`).toBe(Math.max(1, Math.min(2, threads - 1)));
      expect(checkSize(draft, capacityOf(store.getState().hostReport)).warnings).toEqual([]);
    }
  });

  it('gives a second VM of the same tool a free name', async () => {
    const store = storeFor(8);
    await call(sandbox.service(), 'createVm', { name: 'Memtest86+', memoryMiB: 256, cpus: 1, diskGiB: 0 });
    await store.getState().loadVms();
    await drop(store, MEMTEST);
    expect(store.getState().draft.name).toBe('Memtest86+ (2)');
  });

  it('asks before Escape throws away what was chosen, and closes an untouched wizard at once', async () => {
    const store = storeFor(8);
    store.getState().openWizard();
    store.getState().requestCloseWizard();
    expect(store.getState().wizardOpen).toBe(false);
    await drop(store, MEMTEST);
    store.getState().requestCloseWizard();
    expect(store.getState()).toMatchObject({ wizardOpen: true, confirmingDiscard: true });
    store.getState().keepEditing();
    expect(store.getState()).toMatchObject({ wizardOpen: true, confirmingDiscard: false, draft: { name: 'Memtest86+' } });
    store.getState().closeWizard();
    expect(store.getState().wizardOpen).toBe(false);
  });
});
