import { useEffect, useState, type ReactNode } from 'react';
import { formatBytes } from '../../../src-shared/format';
import type { KeptDisk, StoredIso } from '../../../src-shared/storage';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { useAppStore } from '../../store/react';

// What Hangar keeps beside the VMs: ISOs sent from a browser, and the disks of deleted VMs
// kept on request. Where each folder is, what each file takes, and a Remove that asks first.

const day = (iso: string): string => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

function RemoveQuestion({ path, onRemove, onKeep }: { path: string; onRemove: () => void; onKeep: () => void }) {
  return (
    <ConfirmDialog title="Remove this file?" confirmLabel="Remove" cancelLabel="Keep it" onCancel={onKeep} onConfirm={onRemove}>
      <p>
        Remove <code>{path}</code>? It is deleted from this machine and cannot be brought back.
      </p>
    </ConfirmDialog>
  );
}

function FileRow({ path, facts, blockedBy, onAsk, children }: { path: string; facts: string; blockedBy: string | null; onAsk: () => void; children: ReactNode }) {
  const busy = useAppStore((state) => Boolean(state.removing[path]));
  return (
    <li className="stored-file">
      <div className="stored-file-body">
        <code className="stored-file-path">{path}</code>
        <span className="stored-file-facts">{facts}</span>
      </div>
      <button type="button" className="danger" aria-label={`Remove ${path}`} disabled={busy || blockedBy !== null} title={blockedBy ?? undefined} onClick={onAsk}>
        {busy ? 'Removing…' : 'Remove'}
      </button>
      {children}
    </li>
  );
}

function isoFacts(iso: StoredIso): string {
  const use = iso.usedBy.length > 0 ? `In the CD drive of ${iso.usedBy.join(', ')}` : 'Not in any VM';
  return `${formatBytes(iso.sizeBytes)} · ${use} · ${day(iso.modifiedAt)}`;
}

function diskFacts(disk: KeptDisk): string {
  return `${formatBytes(disk.sizeBytes)} · from the VM ${disk.fromVm}, kept ${day(disk.keptAt)}`;
}

export function StorageScreen() {
  const stored = useAppStore((state) => state.storedFiles);
  const error = useAppStore((state) => state.storageError);
  const load = useAppStore((state) => state.loadStoredFiles);
  const remove = useAppStore((state) => state.removeStoredFile);
  const [asking, setAsking] = useState<string | null>(null);

  useEffect(() => {
    void load();
  }, [load]);

  const question = (path: string) =>
    asking === path && (
      <RemoveQuestion
        path={path}
        onKeep={() => setAsking(null)}
        onRemove={() => {
          setAsking(null);
          void remove(path);
        }}
      />
    );

  return (
    <section className="screen storage-screen" aria-labelledby="storage-title">
      <header className="screen-header">
        <h1 id="storage-title">Storage</h1>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </header>
      {error && (
        <p className="error-banner" role="alert">
          {error}
        </p>
      )}
      {!stored ? (
        <p aria-live="polite">Looking at what Hangar keeps…</p>
      ) : (
        <>
          <h2 className="pane-title">ISO images</h2>
          <p className="field-hint">
            ISOs sent to Hangar from a browser are kept in <code>{stored.isoDir}</code>. One in a VM&apos;s CD drive can be removed once it is ejected.
          </p>
          {stored.isos.length === 0 ? (
            <p className="storage-empty">No ISO images kept.</p>
          ) : (
            <ul className="stored-files" aria-label="ISO images">
              {stored.isos.map((iso) => (
                <FileRow key={iso.path} path={iso.path} facts={isoFacts(iso)} blockedBy={iso.usedBy.length > 0 ? `Eject it from ${iso.usedBy.join(', ')} first.` : null} onAsk={() => setAsking(iso.path)}>
                  {question(iso.path)}
                </FileRow>
              ))}
            </ul>
          )}
          <h2 className="pane-title">Disks kept from deleted VMs</h2>
          <p className="field-hint">
            Deleting a VM with “keep its disks” moves them to <code>{stored.keptDisksDir}</code>, one folder per VM.
          </p>
          {stored.keptDisks.length === 0 ? (
            <p className="storage-empty">No disks kept.</p>
          ) : (
            <ul className="stored-files" aria-label="Kept disks">
              {stored.keptDisks.map((disk) => (
                <FileRow key={disk.path} path={disk.path} facts={diskFacts(disk)} blockedBy={null} onAsk={() => setAsking(disk.path)}>
                  {question(disk.path)}
                </FileRow>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
