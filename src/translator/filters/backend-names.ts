// The backends an IR route uses. IR.backends holds "every backend any route forwards to or
// mirrors to", so whoever collects them must see the mirrors too: those of the rule
// (IRRoute.filters) and those of each weighted backend (IRWeightedBackend.filters).
import type { IRRoute } from '../../ir/index.ts';

export function irRouteBackendNames(route: IRRoute): string[] {
  const names: string[] = [];
  for (const mirror of route.filters?.mirrors ?? []) names.push(mirror.backend);
  if (route.action.type !== 'Forward') return names;
  for (const choice of route.action.backends) {
    if (choice.backend !== undefined) names.push(choice.backend);
    for (const mirror of choice.filters?.mirrors ?? []) names.push(mirror.backend);
  }
  return names;
}
