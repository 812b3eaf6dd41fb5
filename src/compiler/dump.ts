// dump(): the compiled tables as deterministic text, in lookup order, for golden tests and
// `waygate explain`. Exact hosts sorted, wildcards longest first, then the catch-all.
import { endpointReady, endpointServing, endpointTerminating, type IREndpoint } from '../ir/index.ts';
import { filterLines, redirectText } from './dump-filters.ts';
import type { CompiledConfig, CompiledRoute, CompiledStringMatch, HostTable } from './types.ts';

export function dump(compiled: CompiledConfig): string {
  const out: string[] = [];
  for (const name of [...compiled.binds.keys()].sort()) {
    const bind = compiled.binds.get(name)!;
    out.push(`bind ${bind.name} (${bind.protocol} address ${bind.address} port ${bind.port})`);
    for (const [key, listener] of hostOrder(bind.listeners)) {
      out.push(`  listener ${key} ${listener.name} (port ${listener.port})`);
      for (const [vkey, vhost] of hostOrder(listener.virtualHosts)) {
        out.push(`    vhost ${vkey}${vkey === vhost.hostname ? '' : ` (${vhost.hostname})`}`);
        for (const route of vhost.routes) dumpRoute(route, out);
      }
    }
  }
  for (const name of [...compiled.backends.keys()].sort()) {
    const endpoints = compiled.backends.get(name)!.endpoints;
    const list = endpoints.map((e) => `${e.address}:${e.port}${conditionsText(e)}`).join(', ');
    out.push(`backend ${name}: ${list || 'no endpoints'}`);
  }
  for (const error of compiled.errors) out.push(`error ${error}`);
  return out.join('\n') + '\n';
}

/** ` (terminating)`, ` (ready, terminating)`, ` (ready, not serving)`; nothing for a plain ready endpoint. */
function conditionsText(e: IREndpoint): string {
  const parts: string[] = [];
  const ready = endpointReady(e);
  const serving = endpointServing(e);
  const terminating = endpointTerminating(e);
  if (ready && (terminating || !serving)) parts.push('ready');
  if (!serving) parts.push('not serving');
  if (terminating) parts.push('terminating');
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

function hostOrder<T>(table: HostTable<T>): [string, T][] {
  const rows: [string, T][] = [...table.exact].sort((a, b) => cmp(a[0], b[0]));
  const wild = [...table.wildcard].sort((a, b) => b[0].length - a[0].length || cmp(a[0], b[0]));
  for (const [suffix, value] of wild) rows.push([`*${suffix}`, value]);
  if (table.any !== undefined) rows.push(['(any)', table.any]);
  return rows;
}

function dumpRoute(route: CompiledRoute, out: string[]): void {
  const parts = [`#${route.id} ${route.name}`, pathText(route)];
  if (route.method !== undefined) parts.push(`method ${route.method}`);
  for (const h of route.headers) parts.push(`header ${matchText(h)}`);
  for (const q of route.queryParams) parts.push(`query ${matchText(q)}`);
  if (!route.valid) parts.push('INVALID (never matches)');
  out.push(`      route ${parts.join(' ')}`);
  const action = route.action;
  if (action.type === 'DirectResponse') {
    out.push(`        respond ${action.status}`);
  } else if (action.type === 'Redirect') {
    out.push(`        ${redirectText(action)}`);
  } else {
    const choices = action.choices.map((c) => `${c.weight}×${c.backend ?? `status ${c.status}`}`);
    out.push(`        forward ${choices.join(', ')}`);
  }
  out.push(...filterLines(route.filters, '        '));
  if (action.type === 'Forward') {
    for (const c of action.choices) {
      if (c.filters !== undefined) out.push(`        backendRef ${c.backend ?? `status ${c.status}`}:`, ...filterLines(c.filters, '          '));
    }
  }
  const t = route.timeouts;
  if (t !== undefined && (t.requestMs !== undefined || t.backendRequestMs !== undefined)) {
    out.push(`        timeouts request ${t.requestMs ?? '-'}ms backend ${t.backendRequestMs ?? '-'}ms`);
  }
  const r = route.retry;
  if (r !== undefined) out.push(`        retry ${r.attempts} times on ${r.codes.join(',') || 'connection failures'} backoff ${r.backoffMs}ms`);
}

function pathText(route: CompiledRoute): string {
  switch (route.pathKind) {
    case 0: return `path = ${route.pathValue}`;
    case 1: return `path prefix ${route.pathValue}/`;
    case 2: return 'path any';
    default: return `path ~ ${route.pathRegex!.source}`;
  }
}

function matchText(m: CompiledStringMatch): string {
  return m.regex !== undefined ? `${m.name} ~ ${m.regex.source}` : `${m.name} = ${JSON.stringify(m.value)}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
