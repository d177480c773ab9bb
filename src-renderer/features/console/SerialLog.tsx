import { useEffect, useRef, useState } from 'react';
import type { VmSummary } from '../../../src-shared/vm';
import { bytesFromBase64 } from '../../api/base64';
import { useClient } from '../../store/react';
import { openXtermView } from './xterm-view';

type LogState = { kind: 'reading' } | { kind: 'shown'; empty: boolean; truncated: boolean } | { kind: 'failed'; reason: string };

// Hides xterm's cursor: nothing can be typed here.
const HIDE_CURSOR = '\x1b[?25l';

/** What a VM that is not running printed on its serial port last (the end of its serial log), read-only. */
export function SerialLog({ vm }: { vm: VmSummary }) {
  const host = useRef<HTMLDivElement>(null);
  const client = useClient();
  const [log, setLog] = useState<LogState>({ kind: 'reading' });

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const { terminal, dispose } = openXtermView(element, { disableStdin: true, cursorBlink: false, cursorInactiveStyle: 'none' });
    let closed = false;
    client.readConsoleLog({ vm: vm.id }).then(
      ({ data, truncated }) => {
        if (closed) return;
        const bytes = bytesFromBase64(data);
        terminal.write(bytes);
        terminal.write(HIDE_CURSOR);
        setLog({ kind: 'shown', empty: bytes.length === 0, truncated });
      },
      (caught: unknown) => {
        if (!closed) setLog({ kind: 'failed', reason: caught instanceof Error ? caught.message : String(caught) });
      },
    );
    return () => {
      closed = true;
      dispose();
    };
  }, [client, vm.id]);

  // A saved VM goes on from where it was (its console too): the words say so, and name the button it shows.
  const saved = vm.state === 'saved';
  const [start, upTo] = saved ? ['Resume', 'up to the save'] : ['Start', 'when it last ran'];
  const what =
    log.kind === 'reading'
      ? 'Reading what its serial port printed…'
      : log.kind === 'failed'
        ? 'What its serial port printed cannot be shown.'
        : log.empty
          ? `Nothing its serial port printed is kept. ${start} it to see its console here.`
          : `Below is ${log.truncated ? 'the end of ' : ''}what its serial port printed ${upTo}. ${start} it to type into its console.`;
  return (
    <div className="console-pane">
      <p className="console-idle" role="status">
        {vm.name} is {saved ? 'saved' : 'not running'}. {what}
      </p>
      {log.kind === 'failed' && (
        <p className="error-banner" role="alert">
          {log.reason}
        </p>
      )}
      <div ref={host} className="terminal-host" data-testid="serial-log" aria-label={`What the serial port of ${vm.name} printed`} hidden={log.kind !== 'shown' || log.empty} />
    </div>
  );
}
