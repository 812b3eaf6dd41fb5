// util: tiny, dependency-free helpers.
export { contentHash, hashOfParts, immutableHash, stableStringify } from './stable-json.ts';
export { parseDuration } from './duration.ts';
export { hostPort } from './host-port.ts';
export { decodeBase64, parseTlsKeyPair, type TlsKeyPair, type TlsKeyPairResult } from './certificates.ts';
