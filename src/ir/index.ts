// ir: the pure intermediate representation shared by the translator, compiler and data plane.
export type * from './types.ts';
export * from './names.ts';
export { validateIR } from './validate.ts';
export { endpointConditions, endpointReady, endpointServing, endpointTerminating, endpointUsable } from './endpoints.ts';
export { irHash } from './hash.ts';
export { redactIR } from './redact.ts';
