// controller: the loop from store to published configuration, and status as data.
export { Controller, type ConfigPublisher, type ControllerOptions, type PublishedConfig, type RebuildTimings } from './controller.ts';
export { Holdoff } from './holdoff.ts';
