import RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'react';
import type { Accelerator } from '../../../src-shared/host';
import { useClient } from '../../store/react';

/**
 * The VM's screen with noVNC: openScreen hands out a one-time loopback WebSocket address,
 * noVNC speaks VNC over it, scaled to the pane; keyboard and mouse go to the guest once the
 * screen has focus (click it). A dropped connection stays dropped until the person asks
 * again, since every attempt needs a fresh ticket.
 */
export function ScreenPane({ vmId, vmName, running, accelerator }: { vmId: string; vmName: string; running: boolean; accelerator: Accelerator | null }) {
  const [attempt, setAttempt] = useState(0);
  if (!running) {
    return (
      <p className="screen-status" role="status">
        The VM is not running. Its screen shows here while it runs.
      </p>
    );
  }
  // A new key per attempt: each connection starts from "connecting" with a fresh ticket.
  return <ScreenView key={attempt} vmId={vmId} vmName={vmName} slow={accelerator === 'tcg'} onReconnect={() => setAttempt((count) => count + 1)} />;
}

type ScreenStatus = { kind: 'connecting' } | { kind: 'connected' } | { kind: 'disconnected'; reason: string };

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function ScreenView({ vmId, vmName, slow, onReconnect }: { vmId: string; vmName: string; slow: boolean; onReconnect: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | null>(null);
  const client = useClient();
  const [status, setStatus] = useState<ScreenStatus>({ kind: 'connecting' });

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    let closed = false;
    // noVNC complains when a connection it already closed is closed again.
    let screen: RFB | null = null;
    client.openScreen({ vm: vmId }).then(
      ({ url, socketPath }) => {
        if (closed) return;
        if (!url) {
          setStatus({ kind: 'disconnected', reason: `This window cannot show screens. Open ${socketPath} with a VNC viewer instead.` });
          return;
        }
        const connection = new RFB(element, url, { shared: true });
        connection.scaleViewport = true;
        connection.background = '#000';
        connection.addEventListener('connect', () => setStatus({ kind: 'connected' }));
        connection.addEventListener('disconnect', (event) => {
          screen = null;
          rfb.current = null;
          setStatus({ kind: 'disconnected', reason: event.detail.clean ? 'The screen was closed.' : 'The connection to the screen was lost.' });
        });
        connection.addEventListener('securityfailure', (event) => setStatus({ kind: 'disconnected', reason: `The VM refused the screen connection${event.detail.reason ? `: ${event.detail.reason}` : '.'}` }));
        screen = connection;
        rfb.current = connection;
      },
      (error: unknown) => {
        if (!closed) setStatus({ kind: 'disconnected', reason: message(error) });
      },
    );
    return () => {
      closed = true;
      rfb.current = null;
      screen?.disconnect();
    };
  }, [client, vmId]);

  const statusText =
    status.kind === 'connecting'
      ? 'Connecting to the screen…'
      : status.kind === 'connected'
        ? 'Connected. Click the screen to type; keyboard and mouse then go to the VM.'
        : `Disconnected. ${status.reason}`;

  return (
    <div className="screen-pane">
      {/* A screen dark or still for minutes looks broken; under software emulation it is only slow. */}
      {slow && (
        <p className="field-hint screen-slow-boot">
          This VM runs by software emulation, without KVM (the Host check says why), so its OS can take several minutes to start: the screen may stay dark or still for a while.
        </p>
      )}
      <div className="screen-toolbar">
        <p id={`screen-status-${vmId}`} className="screen-status" role="status" aria-live="polite" data-state={status.kind}>
          {statusText}
        </p>
        {status.kind === 'disconnected' && (
          <button type="button" onClick={onReconnect}>
            Reconnect
          </button>
        )}
        <button type="button" disabled={status.kind !== 'connected'} onClick={() => rfb.current?.sendCtrlAltDel()} aria-label={`Send Ctrl+Alt+Del to ${vmName}`}>
          Ctrl+Alt+Del
        </button>
      </div>
      <div
        ref={host}
        className="screen-host"
        data-testid="vm-screen"
        role="application"
        aria-roledescription="VM screen"
        aria-label={`Screen of ${vmName}`}
        aria-describedby={`screen-status-${vmId}`}
      />
    </div>
  );
}
