// What a door may do before its service exists: `hangar start` begins the VM's keeper at
// once, so that it loads alongside the CLI and the engine (qemu/keeper/warm.ts), and hands it
// to the service (ServiceOptions.warmKeeper). Only Node built-ins behind this import.
export { warmKeeper } from '../qemu/keeper/warm';
