import { useState } from 'react';
import type { DeviceKind, DiskBus } from '../../../../src-shared/devices';
import type { VmSummary } from '../../../../src-shared/vm';
import { mayChangeDevice } from '../../../../src-shared/vm-rules';
import { ConfirmDialog } from '../../../components/ConfirmDialog';
import { useAppStore } from '../../../store/react';

/**
 * Remove a device, after asking. A disk's image in the VM folder is deleted, or kept (moved
 * to the kept disks, listed under Storage); a disk kept elsewhere is never touched.
 */
export function RemoveDevice({ vm, device, label, file, onRemoved }: { vm: VmSummary; device: { kind: DeviceKind; id: string; bus?: DiskBus }; label: string; file?: string | null; onRemoved?: (keptFile: string | null) => void }) {
  const removeDevice = useAppStore((state) => state.removeDevice);
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const [asking, setAsking] = useState(false);
  const [keepFile, setKeepFile] = useState(true);
  const allowed = mayChangeDevice(vm, 'remove', { kind: device.kind, ...(device.bus ? { bus: device.bus } : {}) });
  if (!asking) {
    return (
      <>
        <button type="button" className="danger" disabled={busy || !allowed.ok} title={allowed.ok ? undefined : allowed.reason} onClick={() => setAsking(true)}>
          Remove…
        </button>
      </>
    );
  }
  return (
    <ConfirmDialog
      title={`Remove ${label}?`}
      confirmLabel="Remove"
      onCancel={() => setAsking(false)}
      onConfirm={() => {
        setAsking(false);
        void removeDevice(vm.id, device.id, keepFile).then((result) => {
          if (result !== false) onRemoved?.(file ? result : null);
        });
      }}
    >
      {device.kind === 'disk' && file && (
        <label>
          <input type="checkbox" checked={keepFile} onChange={(event) => setKeepFile(event.target.checked)} /> Keep its image (moved to the kept disks, under Storage)
        </label>
      )}
      {device.kind === 'disk' && file === null && <p className="field-hint">Its image is kept outside the VM folder and stays where it is.</p>}
    </ConfirmDialog>
  );
}
