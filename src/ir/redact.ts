// Dumps for people (`waygate translate`, the admin API's config, translator goldens) never show
// a private key: each IRCertificate's key becomes a marker with a short hash of it, so two dumps
// still show whether the key changed. The data plane gets the IR as it is.
import { hashOfParts } from '../util/index.ts';
import type { IR } from './types.ts';

/** The IR with every `certificates[].privateKeyPem` replaced by `<redacted sha256:…>` (the first 16 hex digits). */
export function redactIR(ir: IR): IR {
  if (!ir.certificates || ir.certificates.length === 0) return ir;
  return {
    ...ir,
    certificates: ir.certificates.map((c) => ({ ...c, privateKeyPem: `<redacted sha256:${hashOfParts([c.privateKeyPem])}>` })),
  };
}
