import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { ConsoleCursor } from '../../../src-shared/console-stream';
import { base64FromText, bytesFromBase64 } from '../../api/base64';
import { attachClipboardKeys } from '../../components/terminal-clipboard';
import { useClient } from '../../store/react';

/**
 * The VM's serial console in a terminal: the scrollback the engine kept, then live bytes;
 * what is typed goes to the guest. Resizes with its pane; copy with Ctrl+Shift+C, paste with
 * Ctrl+Shift+V.
 */
export function ConsolePane({ vmId, running }: { vmId: string; running: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const client = useClient();
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const element = host.current;
    if (!element || !running) return;
    const terminal = new Terminal({ convertEol: false, scrollback: 5000, fontSize: 14, cursorBlink: true, screenReaderMode: false });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(element);
    attachClipboardKeys(terminal);
    fit.fit();
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(element);
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
      resize.disconnect();
      terminal.dispose();
    };
  }, [client, vmId, running]);

  if (!running) return <p className="console-idle">The console shows the VM's serial port while it runs.</p>;
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
