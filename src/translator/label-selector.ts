// Kubernetes label selectors (matchLabels and matchExpressions, ANDed), for
// Listener.allowedRoutes.namespaces.selector.
import type { LabelSelector, LabelSelectorRequirement } from '../api/index.ts';
import { list } from './fields.ts';

/** Whether the labels match, or a message naming the malformed part of the selector. */
export function matchLabelSelector(
  selector: LabelSelector, labels: Readonly<Record<string, string>>,
): { readonly matches: boolean; readonly error?: string } {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (labels[key] !== value) return { matches: false };
  }
  for (const [i, req] of list(selector?.matchExpressions).entries()) {
    const result = matchRequirement(req, labels);
    if (typeof result === 'string') return { matches: false, error: `matchExpressions[${i}]: ${result}` };
    if (!result) return { matches: false };
  }
  return { matches: true };
}

/** Validates a selector without matching it: a message naming the first malformed part. */
export function validateLabelSelector(selector: LabelSelector): string | undefined {
  for (const [i, req] of list(selector?.matchExpressions).entries()) {
    const result = matchRequirement(req, {});
    if (typeof result === 'string') return `matchExpressions[${i}]: ${result}`;
  }
  return undefined;
}

function matchRequirement(req: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean | string {
  if (!req || typeof req.key !== 'string' || req.key === '') return 'key is required';
  const values = list(req.values);
  const has = Object.hasOwn(labels, req.key);
  switch (req.operator) {
    case 'In':
      if (values.length === 0) return 'values must be non-empty for operator In';
      return has && values.includes(labels[req.key]);
    case 'NotIn':
      if (values.length === 0) return 'values must be non-empty for operator NotIn';
      return !has || !values.includes(labels[req.key]);
    case 'Exists':
      if (values.length > 0) return 'values must be empty for operator Exists';
      return has;
    case 'DoesNotExist':
      if (values.length > 0) return 'values must be empty for operator DoesNotExist';
      return !has;
    default:
      return `unknown operator ${JSON.stringify(req.operator)}`;
  }
}
