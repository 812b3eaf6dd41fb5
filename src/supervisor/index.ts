// supervisor: process roles, IPC envelopes, respawn.
export { AckTracker } from './ack-tracker.ts';
export { isEnvelope, type AckEnvelope, type ConfigEnvelope, type Envelope, type FleetEnvelope } from './messages.ts';
export { runSupervisor, type SupervisorOptions } from './supervisor.ts';
