import { useState } from 'react';
import type { NicDevice, NicModel } from '../../../../src-shared/devices';
import { numberProblem } from '../../../../src-shared/limits';
import { clashingForward, formatForward, isSshForward, type PortForward } from '../../../../src-shared/network';
import type { VmSummary } from '../../../../src-shared/vm';
import { mayChangeDevice } from '../../../../src-shared/vm-rules';
import { typedNumber } from '../../../components/Field';
import { useAppStore } from '../../../store/react';
import { RemoveDevice } from './RemoveDevice';

// A VM's network cards: the model, the MAC, and the ports of this machine forwarded into
// the guest, edited per card. SSH is simply the TCP forward to guest port 22 (network.ts).

const MODEL_LABELS: Record<NicModel, string> = { 'virtio-net': 'virtio-net (fastest)', e1000: 'Intel e1000 (works without drivers)' };

export function NicList({ vm, nics }: { vm: VmSummary; nics: readonly NicDevice[] }) {
  const addDevice = useAppStore((state) => state.addDevice);
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const add = mayChangeDevice(vm, 'add', { kind: 'nic' });
  return (
    <section className="settings-section" aria-label="Network cards">
      <h3 className="pane-title">Network cards</h3>
      {nics.length === 0 && <p className="field-hint">No network card: the VM is offline.</p>}
      <ul className="device-list">
        {nics.map((nic) => (
          <NicRow key={nic.id} vm={vm} nic={nic} />
        ))}
      </ul>
      <button type="button" disabled={busy || !add.ok} title={add.ok ? undefined : add.reason} onClick={() => void addDevice(vm.id, { kind: 'nic', model: 'virtio-net', portForwards: [] })}>
        Add a network card
      </button>
    </section>
  );
}

interface ForwardRow {
  protocol: 'tcp' | 'udp';
  hostPort: string;
  guestPort: string;
}

const rowsOf = (nic: NicDevice): ForwardRow[] => nic.portForwards.map((forward) => ({ protocol: forward.protocol, hostPort: String(forward.hostPort), guestPort: String(forward.guestPort) }));

function NicRow({ vm, nic }: { vm: VmSummary; nic: NicDevice }) {
  const changeDevice = useAppStore((state) => state.changeDevice);
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const [rows, setRows] = useState<ForwardRow[]>(() => rowsOf(nic));
  const change = mayChangeDevice(vm, 'change', { kind: 'nic' });
  const forwards: PortForward[] = rows.map((row) => ({ protocol: row.protocol, hostAddress: '127.0.0.1', hostPort: typedNumber(row.hostPort), guestPort: typedNumber(row.guestPort) }));
  const rowProblems = rows.map((row) => numberProblem('hostPort', typedNumber(row.hostPort)) ?? numberProblem('guestPort', typedNumber(row.guestPort)));
  const clash = rowProblems.every((problem) => problem === null) ? clashingForward(forwards) : null;
  const problem = rowProblems.find(Boolean) ?? (clash ? `Port ${clash.hostPort} of this machine is forwarded twice (${formatForward(clash)}).` : null);
  const edited = JSON.stringify(rows) !== JSON.stringify(rowsOf(nic));
  const disabled = busy || !change.ok;
  const why = change.ok ? undefined : change.reason;
  return (
    <li className="device-row" data-device={nic.id}>
      <div className="device-head">
        <strong>{nic.id}</strong>
        <span className="device-facts">
          NAT · MAC {nic.mac}
          {nic.portForwards.some(isSshForward) ? ' · SSH forwarded' : ''}
        </span>
      </div>
      <div className="device-controls">
        <label>
          Model{' '}
          <select value={nic.model} disabled={disabled} title={why} onChange={(event) => void changeDevice(vm.id, nic.id, { kind: 'nic', model: event.target.value as NicModel })}>
            {Object.entries(MODEL_LABELS).map(([model, label]) => (
              <option key={model} value={model}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <RemoveDevice vm={vm} device={{ kind: 'nic', id: nic.id }} label={`network card ${nic.id}`} />
      </div>
      <form
        className="forwards"
        aria-label={`Port forwards of ${nic.id}`}
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          if (!problem) void changeDevice(vm.id, nic.id, { kind: 'nic', portForwards: forwards });
        }}
      >
        <p className="field-hint">Ports of this machine (127.0.0.1) forwarded into the guest. TCP to guest port 22 is SSH.</p>
        {rows.map((row, index) => (
          <div className="forward-row" key={index}>
            <select aria-label="Protocol" value={row.protocol} disabled={disabled} onChange={(event) => setRows(rows.map((other, at) => (at === index ? { ...other, protocol: event.target.value as 'tcp' | 'udp' } : other)))}>
              <option value="tcp">TCP</option>
              <option value="udp">UDP</option>
            </select>
            <input aria-label="Port on this machine" type="number" step={1} value={row.hostPort} disabled={disabled} aria-invalid={rowProblems[index] !== null} onChange={(event) => setRows(rows.map((other, at) => (at === index ? { ...other, hostPort: event.target.value } : other)))} />
            <span aria-hidden="true">→ guest</span>
            <input aria-label="Port in the VM" type="number" step={1} value={row.guestPort} disabled={disabled} aria-invalid={rowProblems[index] !== null} onChange={(event) => setRows(rows.map((other, at) => (at === index ? { ...other, guestPort: event.target.value } : other)))} />
            <button type="button" disabled={disabled} aria-label="Remove this forward" onClick={() => setRows(rows.filter((_, at) => at !== index))}>
              ×
            </button>
          </div>
        ))}
        {problem && (
          <p className="field-error" role="alert">
            {problem}
          </p>
        )}
        <div className="form-actions">
          <button type="button" disabled={disabled || rows.length >= 16} title={why} onClick={() => setRows([...rows, { protocol: 'tcp', hostPort: '', guestPort: '' }])}>
            Add a forward
          </button>
          <button type="submit" className="primary" disabled={disabled || !edited || problem !== null} title={why}>
            Save forwards
          </button>
        </div>
      </form>
    </li>
  );
}
