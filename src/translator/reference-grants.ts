// ReferenceGrant: a reference into another namespace is allowed only when a grant in the
// target namespace names the referring kind and namespace (from) and the referent (to).
import type { TranslationContext } from './context.ts';
import { list } from './fields.ts';

export interface GrantQuery {
  readonly fromGroup: string;
  readonly fromKind: string;
  readonly fromNamespace: string;
  readonly toGroup: string;
  readonly toKind: string;
  readonly toNamespace: string;
  readonly toName: string;
}

export function isReferenceGranted(ctx: TranslationContext, q: GrantQuery): boolean {
  if (q.fromNamespace === q.toNamespace) return true;
  return list(ctx.referenceGrants.get(q.toNamespace)).some((grant) => {
    const from = Array.isArray(grant.spec?.from) ? grant.spec.from : [];
    const to = Array.isArray(grant.spec?.to) ? grant.spec.to : [];
    return from.some((f) => f?.group === q.fromGroup && f?.kind === q.fromKind && f?.namespace === q.fromNamespace)
      && to.some((t) => (t?.group ?? '') === q.toGroup && t?.kind === q.toKind && (t?.name === undefined || t.name === '' || t.name === q.toName));
  });
}
