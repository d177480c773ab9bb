import type { HostReport } from '../../src-shared/host';
import type { ApiClient } from '../api/client';
import type { SliceCreator } from './index';

export interface HostSlice {
  hostReport: HostReport | null;
  hostChecking: boolean;
  hostError: string | null;
  checkHost(): Promise<void>;
  receiveHostReport(report: HostReport): void;
}

const REVIEWED_KEY = 'hangar.hostReviewed';

/** On first start, a host that cannot run VMs at full speed opens the Host screen by itself. */
function needsAttention(report: HostReport): boolean {
  return !report.can_run_vms || report.accelerator === 'tcg' || report.checks.some((check) => check.status === 'fail');
}

export const createHostSlice =
  (client: ApiClient): SliceCreator<HostSlice> =>
  (set, get) => ({
    hostReport: null,
    hostChecking: false,
    hostError: null,
    async checkHost() {
      set({ hostChecking: true, hostError: null });
      try {
        // The report also arrives as a hostChecked event; taking the answer too keeps this
        // working when the event is missed.
        get().receiveHostReport(await client.checkHost({}));
      } catch (error) {
        set({ hostError: error instanceof Error ? error.message : String(error) });
      } finally {
        set({ hostChecking: false });
      }
    },
    receiveHostReport(report) {
      const firstReport = get().hostReport === null;
      set({ hostReport: report });
      if (firstReport && needsAttention(report) && localStorage.getItem(REVIEWED_KEY) === null && !get().navigated) {
        localStorage.setItem(REVIEWED_KEY, report.checked_at);
        set({ screen: 'host' });
      }
    },
  });
