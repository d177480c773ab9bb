import { useState, type ReactNode } from 'react';
import { useAppStore } from '../../store/react';

// The whole window takes a dropped ISO. Only files are taken (text or links dragged from
// elsewhere are ignored), and one file at a time.

function carriesFiles(event: React.DragEvent): boolean {
  return Array.from(event.dataTransfer.types).includes('Files');
}

export function DropTarget({ children }: { children: ReactNode }) {
  const takeIsoFile = useAppStore((state) => state.takeIsoFile);
  // dragenter and dragleave fire for every child crossed: count them.
  const [depth, setDepth] = useState(0);
  return (
    <div
      className="drop-target"
      onDragEnter={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        setDepth((value) => value + 1);
      }}
      onDragLeave={(event) => {
        if (!carriesFiles(event)) return;
        setDepth((value) => Math.max(0, value - 1));
      }}
      onDragOver={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
      }}
      onDrop={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        setDepth(0);
        const item = Array.from(event.dataTransfer.items).find((candidate) => candidate.kind === 'file');
        const file = event.dataTransfer.files[0];
        if (!file) return;
        // A dropped folder arrives as a File too; only its entry says what it is.
        const isFolder = item?.webkitGetAsEntry?.()?.isDirectory ?? false;
        void takeIsoFile(file, isFolder);
      }}
    >
      {children}
      {depth > 0 && (
        <div className="drop-overlay" aria-hidden="true">
          <p>Drop the ISO to create a virtual machine</p>
        </div>
      )}
    </div>
  );
}
