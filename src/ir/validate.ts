// Structural checks on an IR before it is published: a failure here is a translator bug,
// so it is reported with the element's name and the configuration is not published.
import type { IR } from './types.ts';

export function validateIR(ir: IR): string[] {
  const errors: string[] = [];
  const backends = new Set(ir.backends.map((b) => b.name));
  const bindNames = new Set<string>();
  for (const bind of ir.binds) {
    if (bindNames.has(bind.name)) errors.push(`bind ${bind.name}: duplicate name`);
    bindNames.add(bind.name);
    if (!Number.isInteger(bind.port) || bind.port < 1 || bind.port > 65535) errors.push(`bind ${bind.name}: port ${bind.port} out of range`);
    for (const listener of bind.listeners) {
      for (const vhost of listener.virtualHosts) {
        for (const route of vhost.routes) {
          if (route.action.type !== 'Forward') continue;
          if (route.action.backends.length === 0) errors.push(`route ${route.name}: no backend choices`);
          for (const choice of route.action.backends) {
            if (choice.backend !== undefined && !backends.has(choice.backend)) {
              errors.push(`route ${route.name}: unknown backend ${choice.backend}`);
            }
            if (choice.backend === undefined && choice.status === undefined) errors.push(`route ${route.name}: choice with neither backend nor status`);
            if (!(choice.weight > 0)) errors.push(`route ${route.name}: weight must be positive`);
          }
        }
      }
    }
  }
  return errors;
}
