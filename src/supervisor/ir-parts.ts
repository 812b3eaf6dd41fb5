// Configuration envelopes carry the IR in parts: a frame in which every virtual host, backend and
// certificate is named by the hash of its content, and the parts the receiver does not hold yet.
// A certificate (and its private key) thus crosses the channel once, not with every version.
// After a small change only the changed parts cross the IPC channel and are parsed, and the
// receiver keeps the very objects of the parts that did not change, so the worker's compiler
// can reuse what it built for them. Each sender knows what its receiver holds because IPC
// delivers every message, in order, for the life of the child process.
import type { IR, IRBackend, IRBind, IRCertificate, IRHttpListener, IRVirtualHost } from '../ir/index.ts';
import { immutableHash } from '../util/index.ts';

type FrameListener = Omit<IRHttpListener, 'virtualHosts'> & { readonly virtualHosts: readonly string[] };
type FrameBind = Omit<IRBind, 'listeners'> & { readonly listeners: readonly FrameListener[] };

/** The IR with each virtual host, backend and certificate replaced by the hash of its content. */
export type IRFrame = Omit<IR, 'binds' | 'backends' | 'certificates'> & {
  readonly binds: readonly FrameBind[];
  readonly backends: readonly string[];
  readonly certificates?: readonly string[];
};

type Part = IRVirtualHost | IRBackend | IRCertificate;

export interface PackedIR {
  readonly frame: IRFrame;
  /** The parts the receiver does not hold yet, by hash. */
  readonly parts: Readonly<Record<string, Part>>;
}

/** Packs IRs for one receiver: a part is sent once and not again while the receiver holds it. */
export class IRPacker {
  /** The parts of the last IR sent: what the receiver holds. */
  #held = new Set<string>();
  readonly #hashOf: (part: Part) => string;

  constructor(hashOf: (part: Part) => string = immutableHash) {
    this.#hashOf = hashOf;
  }

  pack(ir: IR): PackedIR {
    const parts: Record<string, Part> = {};
    const held = new Set<string>();
    const name = (part: Part): string => {
      const hash = this.#hashOf(part);
      if (!this.#held.has(hash)) parts[hash] = part;
      held.add(hash);
      return hash;
    };
    const { certificates, ...rest } = ir;
    const frame: IRFrame = {
      ...rest,
      binds: ir.binds.map((b) => ({ ...b, listeners: b.listeners.map((l) => ({ ...l, virtualHosts: l.virtualHosts.map(name) })) })),
      backends: ir.backends.map(name),
      ...(certificates === undefined ? {} : { certificates: certificates.map(name) }),
    };
    this.#held = held;
    return { frame, parts };
  }
}

/** Unpacks the IRs of one sender, holding the parts of the last one. */
export class IRUnpacker {
  #parts = new Map<string, Part>();
  readonly #hashes = new WeakMap<Part, string>();

  unpack(packed: PackedIR): IR {
    const next = new Map<string, Part>();
    const part = <T extends Part>(hash: string): T => {
      let value = next.get(hash) ?? this.#parts.get(hash);
      if (value === undefined && Object.hasOwn(packed.parts, hash)) {
        value = packed.parts[hash];
        this.#hashes.set(value, hash);
      }
      if (value === undefined) throw new Error(`CFG_ERR_IPC the configuration names part ${hash}, which was neither sent nor held`);
      next.set(hash, value);
      return value as T;
    };
    const { certificates, ...frame } = packed.frame;
    const ir: IR = {
      ...frame,
      binds: frame.binds.map((b) => ({ ...b, listeners: b.listeners.map((l) => ({ ...l, virtualHosts: l.virtualHosts.map((h) => part<IRVirtualHost>(h)) })) })),
      backends: frame.backends.map((h) => part<IRBackend>(h)),
      ...(certificates === undefined ? {} : { certificates: certificates.map((h) => part<IRCertificate>(h)) }),
    };
    this.#parts = next;
    return ir;
  }

  /** The hash a part was sent under (to pass it on without hashing it again). */
  hashOf = (part: Part): string => this.#hashes.get(part) ?? immutableHash(part);
}
