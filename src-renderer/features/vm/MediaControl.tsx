import { useRef, useState } from 'react';
import type { CdromDevice } from '../../../src-shared/devices';
import type { VmSummary } from '../../../src-shared/vm';
import { mayChangeDevice } from '../../../src-shared/vm-rules';
import { useAppStore } from '../../store/react';

/** A CD drive of the VM: what is in it, eject, or put another ISO in (running or not). */
export function MediaControl({ vm, cd, label = 'CD drive' }: { vm: VmSummary; cd: CdromDevice; label?: string }) {
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const changeMedia = useAppStore((state) => state.changeMedia);
  const insertIsoFile = useAppStore((state) => state.insertIsoFile);
  const [typing, setTyping] = useState(false);
  const [path, setPath] = useState('');
  const picker = useRef<HTMLInputElement>(null);
  const iso = cd.iso;
  // A saved VM keeps its disc until it runs again; the rule says so in words.
  const verdict = mayChangeDevice(vm, 'change', { kind: 'cdrom' });
  const blocked = busy || !verdict.ok;
  const why = verdict.ok ? undefined : verdict.reason;
  return (
    <div className="media-control" role="group" aria-label={label} data-device={cd.id}>
      <span className="cd-label">{label}:</span>
      <span data-testid="cd-drive">{iso ?? 'empty'}</span>
      {iso && (
        <button type="button" disabled={blocked} title={why} onClick={() => void changeMedia(vm.id, null, cd.id)}>
          Eject
        </button>
      )}
      <button type="button" disabled={blocked} title={why} onClick={() => picker.current?.click()}>
        {iso ? 'Change ISO…' : 'Insert ISO…'}
      </button>
      <input
        ref={picker}
        type="file"
        accept=".iso,application/x-iso9660-image,application/x-cd-image"
        hidden
        aria-hidden="true"
        onChange={(event) => {
          const file = event.target.files?.[0];
          event.target.value = '';
          if (file) void insertIsoFile(vm.id, file, cd.id);
        }}
      />
      {typing ? (
        <form
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            if (!path.trim()) return;
            void changeMedia(vm.id, path.trim(), cd.id);
            setTyping(false);
          }}
        >
          <input type="text" value={path} onChange={(event) => setPath(event.target.value)} aria-label="Path of the ISO on this machine" placeholder="/path/to/image.iso" spellCheck={false} />
          <button type="submit">Insert</button>
          <button type="button" onClick={() => setTyping(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <button type="button" className="link-button" disabled={blocked} title={why} onClick={() => setTyping(true)}>
          Type a path…
        </button>
      )}
    </div>
  );
}
