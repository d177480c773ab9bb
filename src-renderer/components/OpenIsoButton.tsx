import { useRef } from 'react';
import { useAppStore } from '../store/react';

/** "Open ISO…": the system's file chooser; the chosen file takes the same way as a dropped one. */
export function OpenIsoButton({ label = 'Open ISO…', className }: { label?: string; className?: string }) {
  const input = useRef<HTMLInputElement>(null);
  const takeIsoFile = useAppStore((state) => state.takeIsoFile);
  return (
    <>
      <button type="button" className={className} onClick={() => input.current?.click()}>
        {label}
      </button>
      <input
        ref={input}
        type="file"
        accept=".iso,application/x-iso9660-image,application/x-cd-image"
        hidden
        aria-hidden="true"
        data-testid="open-iso-input"
        onChange={(event) => {
          const file = event.target.files?.[0];
          event.target.value = ''; // the same file may be chosen again later
          if (file) void takeIsoFile(file, false);
        }}
      />
    </>
  );
}
