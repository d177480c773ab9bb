import { useRef, useState } from 'react';
import type { VmSummary } from '../../../src-shared/vm';
import { useAppStore } from '../../store/react';

/** The VM's CD drive: what is in it, eject, or put another ISO in (running or not). */
export function MediaControl({ vm }: { vm: VmSummary }) {
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const changeMedia = useAppStore((state) => state.changeMedia);
  const insertIsoFile = useAppStore((state) => state.insertIsoFile);
  const [typing, setTyping] = useState(false);
  const [path, setPath] = useState('');
  const picker = useRef<HTMLInputElement>(null);
  const iso = vm.config?.cdrom ?? null;
  return (
    <div className="media-control" role="group" aria-label="CD drive">
      <span className="cd-label">CD drive:</span>
      <span data-testid="cd-drive">{iso ?? 'empty'}</span>
      {iso && (
        <button type="button" disabled={busy} onClick={() => void changeMedia(vm.id, null)}>
          Eject
        </button>
      )}
      <button type="button" disabled={busy} onClick={() => picker.current?.click()}>
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
          if (file) void insertIsoFile(vm.id, file);
        }}
      />
      {typing ? (
        <form
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            if (!path.trim()) return;
            void changeMedia(vm.id, path.trim());
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
        <button type="button" className="link-button" disabled={busy} onClick={() => setTyping(true)}>
          Type a path…
        </button>
      )}
    </div>
  );
}
