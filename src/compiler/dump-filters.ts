// dump() lines for a route's filters and redirect, one line per filter, in request order.
import type { CompiledCors, CompiledFilters, CompiledHeaderModifier, CompiledPathModifier, CompiledRedirect } from './types.ts';

export function redirectText(r: CompiledRedirect): string {
  const parts = [`redirect ${r.statusCode}`];
  if (r.scheme !== undefined) parts.push(`scheme ${r.scheme}`);
  if (r.hostname !== undefined) parts.push(`host ${r.hostname}`);
  if (r.port !== undefined) parts.push(`port ${r.port}`);
  if (r.path !== undefined) parts.push(pathModifierText(r.path));
  return parts.join(' ');
}

export function filterLines(f: CompiledFilters | undefined, indent: string): string[] {
  if (f === undefined) return [];
  const out: string[] = [];
  if (f.cors !== undefined) out.push(`${indent}cors ${corsText(f.cors)}`);
  if (f.requestHeaders !== undefined) out.push(`${indent}request headers ${modifierText(f.requestHeaders)}`);
  const rewrite = f.urlRewrite;
  if (rewrite !== undefined) {
    const parts = ['rewrite'];
    if (rewrite.hostname !== undefined) parts.push(`host ${rewrite.hostname}`);
    if (rewrite.path !== undefined) parts.push(pathModifierText(rewrite.path));
    out.push(indent + parts.join(' '));
  }
  for (const m of f.mirrors) out.push(`${indent}mirror ${m.backend} ${m.numerator}/${m.denominator}`);
  if (f.responseHeaders !== undefined) out.push(`${indent}response headers ${modifierText(f.responseHeaders)}`);
  return out;
}

function pathModifierText(p: CompiledPathModifier): string {
  if (p.type === 'ReplaceFullPath') return `path = ${JSON.stringify(p.value)}`;
  return `path prefix ${JSON.stringify(p.prefix || '/')} → ${JSON.stringify(p.replacement || '/')}`;
}

function modifierText(m: CompiledHeaderModifier): string {
  const parts: string[] = [];
  for (const h of m.set) parts.push(`set ${h.name}=${JSON.stringify(h.value)}`);
  for (const h of m.add) parts.push(`add ${h.name}=${JSON.stringify(h.value)}`);
  for (const name of m.remove) parts.push(`remove ${name}`);
  return parts.join(' ');
}

function corsText(c: CompiledCors): string {
  const origins = c.anyOrigin ? ['*'] : [...c.origins, ...c.originPatterns.map((p) => `~${p.source}`)];
  const parts = [`origins ${origins.join(' ')}`];
  parts.push(`methods ${c.anyMethod ? '*' : c.methods || '-'}`);
  parts.push(`headers ${c.anyHeader ? '*' : c.headers || '-'}`);
  parts.push(`expose ${c.anyExpose ? '*' : c.expose || '-'}`);
  if (c.allowCredentials) parts.push('credentials');
  parts.push(`max-age ${c.maxAge}`);
  return parts.join('; ');
}
