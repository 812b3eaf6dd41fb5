// Label and field selectors with the syntax of k8s.io/apimachinery/pkg/labels and
// pkg/fields: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a` for labels;
// `f=v`, `f==v`, `f!=v` (with `\` escapes) for fields.
import { errors } from './errors.ts';
import type { KubeJson, ResourceDef } from './resources.ts';

export type Matcher = (obj: KubeJson) => boolean;

interface LabelRequirement {
  readonly key: string;
  readonly op: 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
  readonly values: readonly string[];
}

const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** Split on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function parseRequirement(raw: string): LabelRequirement {
  const s = raw.trim();
  const fail = (why: string) => errors.badRequest(`unable to parse requirement: ${why}`);
  let m: RegExpMatchArray | null;
  let req: LabelRequirement;
  if ((m = s.match(/^!\s*([^\s!=<>(),]+)$/))) req = { key: m[1], op: '!exists', values: [] };
  else if ((m = s.match(/^([^\s!=<>(),]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
    req = { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) };
  } else if ((m = s.match(/^([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*([^\s,()]*)$/))) {
    const op = m[2] === '==' ? '=' : m[2] === '>' ? 'gt' : m[2] === '<' ? 'lt' : (m[2] as '=' | '!=');
    req = { key: m[1], op, values: [m[3]] };
  } else if ((m = s.match(/^([^\s!=<>(),]+)$/))) req = { key: m[1], op: 'exists', values: [] };
  else throw fail(`found '${s}', expected: identifier, '!', 'in', 'notin', '=', '==', '!='`);
  if (!KEY_RE.test(req.key) || req.key.length > 316) throw fail(`invalid label key "${req.key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  for (const v of req.values) {
    if ((req.op === 'gt' || req.op === 'lt') && !/^-?\d+$/.test(v)) throw fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
    if (!VALUE_RE.test(v)) throw fail(`invalid label value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
  return req;
}

function matchesRequirement(labels: Record<string, string>, r: LabelRequirement): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case 'exists': return has;
    case '!exists': return !has;
    case '=': return has && v === r.values[0];
    case '!=': return !has || v !== r.values[0];
    case 'in': return has && r.values.includes(v);
    case 'notin': return !has || !r.values.includes(v);
    case 'gt': return has && /^-?\d+$/.test(v) && Number(v) > Number(r.values[0]);
    case 'lt': return has && /^-?\d+$/.test(v) && Number(v) < Number(r.values[0]);
  }
}

/** A matcher for `labelSelector`; throws a 400 StatusError on a syntax error. */
export function parseLabelSelector(selector: string | undefined): Matcher {
  if (!selector || selector.trim() === '') return () => true;
  const reqs = splitTop(selector).map(parseRequirement);
  return (obj) => {
    const labels = (obj.metadata?.labels ?? {}) as Record<string, string>;
    return reqs.every((r) => matchesRequirement(labels, r));
  };
}

/** Split a field selector on unescaped commas and find the unescaped operator. */
function parseFieldTerms(selector: string): { field: string; op: '=' | '!='; value: string }[] {
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (ch === '\\' && i + 1 < selector.length) {
      cur += ch + selector[++i];
    } else if (ch === ',') {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  return terms.map((t) => {
    const m = t.match(/^((?:[^\\=!]|\\.)*?)(==|!=|=)(.*)$/s);
    if (!m) throw errors.badRequest(`invalid selector: '${selector}'; can't understand '${t}'`);
    const unescape = (s: string) => s.replace(/\\(.)/g, '$1');
    return { field: unescape(m[1]).trim(), op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]) };
  });
}

/** A matcher for `fieldSelector`; unsupported fields are a 400, as the real server answers. */
export function parseFieldSelector(selector: string | undefined, def: ResourceDef): Matcher {
  if (!selector || selector.trim() === '') return () => true;
  const terms = parseFieldTerms(selector).map((t) => {
    let get: (o: KubeJson) => string | undefined;
    if (t.field === 'metadata.name') get = (o) => o.metadata?.name;
    else if (t.field === 'metadata.namespace') get = (o) => o.metadata?.namespace ?? '';
    else if (def.fields && Object.hasOwn(def.fields, t.field)) get = def.fields[t.field];
    else throw errors.badRequest(`field label not supported: ${t.field}`);
    return { ...t, get };
  });
  return (obj) => terms.every((t) => ((t.get(obj) ?? '') === t.value) === (t.op === '='));
}
