import type { NewVmRequest } from '../../src-shared/vm';
import type { HangarService } from '../api/service';
import { call, printJson, type CliIo } from './command';

/** Creates a VM, showing the disk's progress (created or imported) on a terminal. */
export async function createWithProgress(service: HangarService, io: CliIo, request: NewVmRequest, json: boolean): Promise<number> {
  const stop = service.events.on('vmProgress', (progress) => {
    if (io.isTTY) io.err(`\r${progress.step}${progress.percent === null ? '…' : ` ${progress.percent.toFixed(0)}%`}   `);
  });
  try {
    const vm = await call(service, 'createVm', request);
    if (io.isTTY) io.err('\n');
    if (json) printJson(io, vm);
    else io.out(`Created ${vm.name} (${vm.id}). Start it with: hangar start ${vm.id}\n`);
    return 0;
  } finally {
    stop();
  }
}

