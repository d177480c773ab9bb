import { useEffect, useRef, useState } from 'react';
import { ConsoleCursor } from '../../../src-shared/console-stream';
import type { VmSummary } from '../../../src-shared/vm';
import { base64FromText, bytesFromBase64 } from '../../api/base64';
import { useClient } from '../../store/react';
import { SerialLog } from './SerialLog';
import { openXtermView } from './xterm-view';

/**
 * The VM's serial console. While QEMU runs (shutting down included: the guest may still
 * print and read) it is live; otherwise it shows what the serial port printed last, from
 * the VM's serial log, read-only.
 */
export function ConsolePane({ vm, live }: { vm: VmSummary; live: boolean }) {
  if (live) return <LiveConsole vmId={vm.id} />;
  if (vm.state === 'starting') {
    return (
      <p className="console-idle" role="status">
        {vm.name} is starting; its serial console shows here once it runs.
      </p>
    );
  }
  // Read again whenever the VM ends a run, so the log is the one it just wrote.
  return <SerialLog key={vm.state} vm={vm} />;
}

/**
 * The scrollback the engine kept, then live bytes; what is typed goes to the guest. Copy
 * with Ctrl+Shift+C, paste with Ctrl+Shift+V.
 */
function LiveConsole({ vmId }: { vmId: string }) {
  const host = useRef<HTMLDivElement>(null);
  const client = useClient();
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const { terminal, dispose } = openXtermView(element, { convertEol: false, cursorBlink: true, screenReaderMode: false });
    let closed = false;
    // Live output may come before the scrollback; the cursor keeps them in order, once each.
    const cursor = new ConsoleCursor();
    const show = (parts: Uint8Array[]): void => {
      for (const part of parts) terminal.write(part);
    };
    const stopOutput = client.on('consoleOutput', (chunk) => {
      if (chunk.vm === vmId) show(cursor.receive(bytesFromBase64(chunk.data), chunk.offset));
    });
    const typing = terminal.onData((data) => {
      void client.sendConsoleInput({ vm: vmId, data: base64FromText(data) }).catch((caught: unknown) => setError(caught instanceof Error ? caught.message : String(caught)));
    });
    client.attachConsole({ vm: vmId }).then(
      ({ scrollback, end }) => {
        if (!closed) show(cursor.start(bytesFromBase64(scrollback), end));
      },
      (caught: unknown) => setError(caught instanceof Error ? caught.message : String(caught)),
    );
    terminal.focus();
    return () => {
      closed = true;
      stopOutput();
      typing.dispose();
      dispose();
    };
  }, [client, vmId]);

  return (
    <div className="console-pane">
      {error && (
        <p className="error-banner" role="alert">
          {error}
        </p>
      )}
      <div ref={host} className="terminal-host" data-testid="serial-terminal" aria-label="Serial console" />
    </div>
  );
}
