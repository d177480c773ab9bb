import { useEffect, useRef, useState } from 'react';
import type { VmSummary } from '../../src-shared/vm';
import { useClient } from '../store/react';

/** How often a visible running VM's picture is taken again. */
export const THUMBNAIL_REFRESH_MS = 5000;

const hasScreen = (state: VmSummary['state']): boolean => state === 'running' || state === 'paused' || state === 'shutting-down';

/**
 * A small picture of a running VM's screen for the library. It is a sampled image, not
 * state: it is taken again every few seconds, only while the VM runs, the row is on screen
 * and the window is visible. State itself still arrives by events.
 */
export function VmThumbnail({ vm }: { vm: VmSummary }) {
  const client = useClient();
  const frame = useRef<HTMLDivElement>(null);
  const [picture, setPicture] = useState<string | null>(null);
  const live = hasScreen(vm.state);

  useEffect(() => {
    const element = frame.current;
    if (!element || !live) return;
    let stopped = false;
    let busy = false;
    let visible = false;
    const sample = async (): Promise<void> => {
      if (stopped || busy || !visible || document.hidden) return;
      busy = true;
      try {
        const shot = await client.getScreenshot({ vm: vm.id });
        if (!stopped) setPicture(`data:image/png;base64,${shot.png}`);
      } catch {
        // The VM stopped meanwhile: its state arrives as an event and hides the picture.
      } finally {
        busy = false;
      }
    };
    const observer = new IntersectionObserver((entries) => {
      visible = entries.some((entry) => entry.isIntersecting);
      void sample();
    });
    observer.observe(element);
    const onVisibility = (): void => void sample();
    document.addEventListener('visibilitychange', onVisibility);
    const timer = setInterval(() => void sample(), THUMBNAIL_REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
      observer.disconnect();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [client, vm.id, live]);

  return (
    <div ref={frame} className="vm-thumbnail" data-testid="vm-thumbnail">
      {live && picture ? <img src={picture} alt={`Screen of ${vm.name}`} /> : <span className="vm-thumbnail-empty" aria-hidden="true" />}
    </div>
  );
}
