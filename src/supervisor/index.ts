// supervisor: process roles, IPC envelopes, respawn.
export { AckTracker } from './ack-tracker.ts';
export { HealthRelay } from './health-relay.ts';
export { isEnvelope, type AckEnvelope, type ConfigEnvelope, type Envelope, type FleetEnvelope, type HealthEnvelope } from './messages.ts';
export { runSupervisor, type SupervisorOptions } from './supervisor.ts';
export { IRPacker, IRUnpacker, type IRFrame, type PackedIR } from './ir-parts.ts';
