import { describe, expect, it } from 'vitest';
import { initialTracker, stateForStatus, track, type Tracker, type TrackerInput } from '../../../src-main/qemu/vm-state';

const event = (name: string, data?: Record<string, unknown>): TrackerInput => ({ type: 'qmp-event', event: { event: name, ...(data ? { data } : {}) } });
const run = (inputs: TrackerInput[], start: Tracker = initialTracker()): Tracker => inputs.reduce(track, start);

describe('VM state machine', () => {
  it.each([
    ['running', 'running'],
    ['paused', 'paused'],
    ['prelaunch', 'paused'],
    ['io-error', 'paused'],
    ['shutdown', 'shutting-down'],
    ['guest-panicked', 'crashed'],
    ['internal-error', 'crashed'],
  ])('query-status %s -> %s', (status, state) => {
    expect(stateForStatus(status)).toBe(state);
  });

  it.each<[string, TrackerInput[], Partial<Tracker>]>([
    ['starts, runs', [{ type: 'status', status: 'running' }], { state: 'running' }],
    ['pauses and resumes', [{ type: 'status', status: 'running' }, event('STOP'), event('RESUME')], { state: 'running' }],
    ['pauses', [{ type: 'status', status: 'running' }, event('STOP')], { state: 'paused' }],
    ['ACPI shutdown ends stopped', [{ type: 'status', status: 'running' }, event('POWERDOWN'), event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' }), { type: 'exited', code: 0, signal: null }], { state: 'stopped', problem: null }],
    ['force off (quit) ends stopped', [{ type: 'status', status: 'running' }, event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' }), { type: 'exited', code: 0, signal: null }], { state: 'stopped' }],
    ['STOP during shutdown does not say paused', [{ type: 'status', status: 'running' }, event('SHUTDOWN'), event('STOP')], { state: 'shutting-down' }],
    ['SIGKILL crashes with the signal', [{ type: 'status', status: 'running' }, { type: 'exited', code: null, signal: 'SIGKILL' }], { state: 'crashed', problem: 'QEMU was killed by SIGKILL.' }],
    ['exit 1 without shutdown crashes', [{ type: 'exited', code: 1, signal: null }], { state: 'crashed', problem: 'QEMU stopped with exit code 1.' }],
    ['a guest panic is a crash', [{ type: 'status', status: 'running' }, event('GUEST_PANICKED', { action: 'pause' })], { state: 'crashed' }],
    ['a full host disk pauses with words', [{ type: 'status', status: 'running' }, event('BLOCK_IO_ERROR', { action: 'stop', nospace: true, reason: 'No space left on device' }), event('STOP')], { state: 'paused', problem: 'The VM paused because the disk holding its image is full. Free space, then resume it.' }],
    ['resuming clears the problem', [{ type: 'status', status: 'running' }, event('BLOCK_IO_ERROR', { action: 'stop', nospace: true }), event('RESUME')], { state: 'running', problem: null }],
    ['a guest that ignores the power button can be paused', [{ type: 'status', status: 'running' }, event('POWERDOWN'), event('STOP')], { state: 'paused' }],
    ['and is running again when QEMU says so', [{ type: 'status', status: 'running' }, event('POWERDOWN'), { type: 'status', status: 'running' }], { state: 'running' }],
    ['after SHUTDOWN a running status does not bring it back', [{ type: 'status', status: 'running' }, event('SHUTDOWN'), { type: 'status', status: 'running' }], { state: 'shutting-down' }],
    ['RESET keeps it running', [{ type: 'status', status: 'running' }, event('RESET', { guest: true })], { state: 'running' }],
    ['a save shows paused while the state is written', [{ type: 'status', status: 'running' }, event('STOP'), event('MIGRATION', { status: 'completed' })], { state: 'paused' }],
    ['a saved VM ends saved when QEMU quits', [{ type: 'status', status: 'running' }, event('STOP'), { type: 'saved' }, event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' }), { type: 'exited', code: 0, signal: null }], { state: 'saved', problem: null }],
    ['a saved VM ends saved even if QEMU is killed after the save', [{ type: 'status', status: 'running' }, { type: 'saved' }, { type: 'exited', code: null, signal: 'SIGKILL' }], { state: 'saved', problem: null }],
    ['a failed save runs on', [{ type: 'status', status: 'running' }, event('STOP'), event('MIGRATION', { status: 'failed' }), event('RESUME')], { state: 'running', saved: false }],
    ['quit without a save still ends stopped', [{ type: 'status', status: 'running' }, event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' }), { type: 'exited', code: 0, signal: null }], { state: 'stopped', saved: false }],
  ])('%s', (_name, inputs, expected) => {
    expect(run(inputs)).toMatchObject(expected);
  });

  it('does not change the state it is given', () => {
    const start = initialTracker();
    track(start, event('STOP'));
    expect(start).toEqual(initialTracker());
  });
});
