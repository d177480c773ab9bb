import { useState } from 'react';
import type { DiskBus, DiskCache, DiskDevice } from '../../../../src-shared/devices';
import { formatBytes } from '../../../../src-shared/format';
import { numberProblem } from '../../../../src-shared/limits';
import type { DiskInfo, VmSummary } from '../../../../src-shared/vm';
import { mayChangeDevice } from '../../../../src-shared/vm-rules';
import { Field, typedNumber } from '../../../components/Field';
import { useAppStore } from '../../../store/react';
import { RemoveDevice } from './RemoveDevice';

// A VM's disks: each with its image, size and options; grow one, remove one, add a new empty
// disk or import an image (with the same safety checks as `hangar disk import`). What may
// happen now (a running VM takes virtio disks and growing) is the engine's rule.

const GiB = 1024 ** 3;
export const BUS_LABELS: Record<DiskBus, string> = { 'virtio-blk': 'virtio-blk (fastest)', 'virtio-scsi': 'virtio-scsi', sata: 'SATA', ide: 'IDE' };
const CACHE_LABELS: Record<DiskCache, string> = { auto: 'Automatic', none: 'No host cache (O_DIRECT)', writeback: 'Host page cache' };

export function DiskList({ vm, disks, details }: { vm: VmSummary; disks: readonly DiskDevice[]; details: readonly DiskInfo[] }) {
  // Where the image of a disk removed here went: said after its row is gone.
  const [kept, setKept] = useState<string | null>(null);
  return (
    <section className="settings-section" aria-label="Disks">
      <h3 className="pane-title">Disks</h3>
      {kept && (
        <p className="field-hint" role="status">
          Kept in {kept}
        </p>
      )}
      {disks.length === 0 && <p className="field-hint">No disk: the VM runs from its CD (a live or tool image).</p>}
      <ul className="device-list">
        {disks.map((disk) => (
          <DiskRow key={disk.id} vm={vm} disk={disk} info={details.find((candidate) => candidate.id === disk.id)} onRemoved={setKept} />
        ))}
      </ul>
      <AddDisk vm={vm} />
    </section>
  );
}

function DiskRow({ vm, disk, info, onRemoved }: { vm: VmSummary; disk: DiskDevice; info: DiskInfo | undefined; onRemoved: (keptFile: string | null) => void }) {
  const changeDevice = useAppStore((state) => state.changeDevice);
  const resizeDisk = useAppStore((state) => state.resizeDisk);
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const [growing, setGrowing] = useState(false);
  const currentGiB = info?.virtualBytes ? Math.ceil(info.virtualBytes / GiB) : null;
  const [size, setSize] = useState('');
  const change = mayChangeDevice(vm, 'change', { kind: 'disk', bus: disk.bus });
  const grow = mayChangeDevice(vm, 'resize', { kind: 'disk', bus: disk.bus });
  const typed = typedNumber(size);
  const sizeProblem = numberProblem('diskGiB', typed) ?? (currentGiB !== null && typed <= currentGiB ? `Give more than its ${currentGiB} GiB now: Hangar only makes disks larger.` : null);
  return (
    <li className="device-row" data-device={disk.id}>
      <div className="device-head">
        <strong>{disk.id}</strong>
        <span className="device-facts">
          {info ? `${info.virtualBytes !== null ? formatBytes(info.virtualBytes) : 'size unknown'}${info.allocatedBytes !== null ? ` (${formatBytes(info.allocatedBytes)} used)` : ''} · ${info.path}` : disk.file}
          {info?.external ? ' · kept outside the VM folder' : ''}
          {disk.bootOrder !== null ? ` · boot order ${disk.bootOrder}` : ''}
        </span>
      </div>
      <div className="device-controls">
        <label>
          Bus{' '}
          <select value={disk.bus} disabled={busy || !change.ok} title={change.ok ? undefined : change.reason} onChange={(event) => void changeDevice(vm.id, disk.id, { kind: 'disk', bus: event.target.value as DiskBus })}>
            {Object.entries(BUS_LABELS).map(([bus, label]) => (
              <option key={bus} value={bus}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Cache{' '}
          <select value={disk.cache} disabled={busy || !change.ok} title={change.ok ? undefined : change.reason} onChange={(event) => void changeDevice(vm.id, disk.id, { kind: 'disk', cache: event.target.value as DiskCache })}>
            {Object.entries(CACHE_LABELS).map(([cache, label]) => (
              <option key={cache} value={cache}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={busy || !grow.ok} title={grow.ok ? undefined : grow.reason} onClick={() => setGrowing(!growing)}>
          Grow…
        </button>
        <RemoveDevice vm={vm} device={{ kind: 'disk', id: disk.id, bus: disk.bus }} label={`disk ${disk.id}`} file={info?.external ? null : (info?.path ?? disk.file)} onRemoved={onRemoved} />
      </div>
      {growing && (
        <form
          className="inline-form"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            if (!sizeProblem) void resizeDisk(vm.id, disk.id, typed).then((ok) => ok && setGrowing(false));
          }}
        >
          <Field label={`New size of ${disk.id} (GiB)`} error={size === '' ? undefined : (sizeProblem ?? undefined)} hint={vm.state === 'running' ? 'The running guest is told; grow its partition inside it.' : undefined}>
            {(id, describedBy) => <input id={id} type="number" step={1} value={size} placeholder={currentGiB !== null ? String(currentGiB + 10) : ''} aria-describedby={describedBy} onChange={(event) => setSize(event.target.value)} />}
          </Field>
          <button type="submit" className="primary" disabled={Boolean(sizeProblem) || busy}>
            Grow
          </button>
        </form>
      )}
    </li>
  );
}

function AddDisk({ vm }: { vm: VmSummary }) {
  const addDevice = useAppStore((state) => state.addDevice);
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const [open, setOpen] = useState(false);
  const [source, setSource] = useState<'new' | 'import'>('new');
  const [size, setSize] = useState('20');
  const [file, setFile] = useState('');
  const [bus, setBus] = useState<DiskBus>('virtio-blk');
  const allowed = mayChangeDevice(vm, 'add', { kind: 'disk', bus });
  const sizeProblem = source === 'new' ? numberProblem('diskGiB', typedNumber(size)) : null;
  const fileProblem = source === 'import' && !file.startsWith('/') ? "Give the disk image's full path." : null;
  if (!open) {
    const any = mayChangeDevice(vm, 'add', { kind: 'disk', bus: 'virtio-blk' });
    return (
      <button type="button" disabled={busy || !any.ok} title={any.ok ? undefined : any.reason} onClick={() => setOpen(true)}>
        Add a disk…
      </button>
    );
  }
  return (
    <form
      className="add-device"
      aria-label="Add a disk"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        if (sizeProblem || fileProblem || !allowed.ok) return;
        const device = source === 'new' ? { kind: 'disk' as const, sizeGiB: typedNumber(size), bus } : { kind: 'disk' as const, importFrom: file, bus };
        void addDevice(vm.id, device).then((ok) => ok && setOpen(false));
      }}
    >
      <fieldset className="choices">
        <legend>New disk</legend>
        <label>
          <input type="radio" name="disk-source" checked={source === 'new'} onChange={() => setSource('new')} /> Empty
        </label>
        <label>
          <input type="radio" name="disk-source" checked={source === 'import'} onChange={() => setSource('import')} /> Import an image (qcow2, raw, vmdk, vdi, vhdx, vhd)
        </label>
      </fieldset>
      {source === 'new' ? (
        <Field label="Size (GiB)" error={sizeProblem ?? undefined}>
          {(id, describedBy) => <input id={id} type="number" step={1} value={size} aria-describedby={describedBy} onChange={(event) => setSize(event.target.value)} />}
        </Field>
      ) : (
        <Field label="Image to import, full path" error={file === '' ? undefined : (fileProblem ?? undefined)} hint="It is copied into the VM folder as qcow2; the original stays as it is.">
          {(id, describedBy) => <input id={id} type="text" value={file} placeholder="/home/you/appliance.vmdk" spellCheck={false} aria-describedby={describedBy} onChange={(event) => setFile(event.target.value)} />}
        </Field>
      )}
      <Field label="Bus" error={allowed.ok ? undefined : allowed.reason}>
        {(id, describedBy) => (
          <select id={id} value={bus} aria-describedby={describedBy} onChange={(event) => setBus(event.target.value as DiskBus)}>
            {Object.entries(BUS_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy || Boolean(sizeProblem) || Boolean(fileProblem) || !allowed.ok}>
          Add the disk
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
