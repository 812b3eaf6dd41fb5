// resources: the in-memory store and immutable snapshots.
export { Store, type StoreListener } from './store.ts';
export {
  EMPTY_SNAPSHOT, KIND_FIELDS, compareObjects, snapshotOf, supportedKind,
  type Snapshot, type SupportedKind,
} from './snapshot.ts';
export { snapshotHash } from './snapshot-hash.ts';
