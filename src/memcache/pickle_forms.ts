// The pieces of the safe pickle reader (pickle.ts) that hold values while they are read: the
// errors, the forms of dicts and sets, the few plain-data builders a GLOBAL may name.

import { RemoteProtocolError } from "../core/errors.ts";

/**
 * A pickle that can't be read: truncated, malformed, or (see {@link UnsafePickleError}) not
 * plain data. A `RemoteProtocolError`: the bytes came from a reply.
 *
 * @example
 * ```ts
 * import { PickleError, unpickle } from "@kvwire/kvwire/memcache";
 * try { unpickle(new Uint8Array([0x80, 4])); } catch (e) { e instanceof PickleError; } // true
 * ```
 */
export class PickleError extends RemoteProtocolError {}

/**
 * A pickle that would import a name or construct an object (GLOBAL, STACK_GLOBAL, REDUCE,
 * BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4, PERSID, BINPERSID, out-of-band buffers):
 * refused, never run. `opcode` names the opcode, `global` the name it would have imported.
 *
 * @example
 * ```ts
 * import { UnsafePickleError, unpickle } from "@kvwire/kvwire/memcache";
 * const bytes = new TextEncoder().encode("c__main__\nPoint\n)\x81.");
 * try { unpickle(bytes); } catch (e) { (e as UnsafePickleError).global; } // "__main__.Point"
 * ```
 */
export class UnsafePickleError extends PickleError {
  /** The refused opcode's name, such as `"GLOBAL"`. */
  readonly opcode: string;
  /** The `module.name` a GLOBAL or STACK_GLOBAL named, if any. */
  readonly global: string | undefined;

  /** Creates the error. */
  constructor(opcode: string, global?: string) {
    super(
      `Refusing a pickle that ${global ? `imports ${global}` : `uses ${opcode}`}: kvwire ` +
        `reads plain data only (None, bool, int, float, str, bytes, list, tuple, dict, set)`,
    );
    this.opcode = opcode;
    this.global = global;
  }
}

/**
 * The only names a GLOBAL may bring, each standing for a plain-data builder of our own (how
 * Python writes sets, bytes and bytearrays in the older protocols); anything else is refused.
 */
export const BUILDERS: Record<string, (args: unknown[]) => unknown> = {
  "builtins.set": (args) => new PySet(args.length ? iterate(args[0]) : []),
  "builtins.frozenset": (args) => new PySet(args.length ? iterate(args[0]) : []),
  "builtins.bytearray": (args) => args.length === 0 ? new Uint8Array(0) : latin1OrBytes(args[0]),
  "builtins.bytes": (args) => args.length === 0 ? new Uint8Array(0) : latin1OrBytes(args[0]),
  "_codecs.encode": (args) => latin1OrBytes(args[0]),
};

/** A dict while it is being read: its entries in order. */
export class PyDict {
  readonly entries: [unknown, unknown][] = [];
}

/** A set or frozenset while it is being read. */
export class PySet {
  readonly items: unknown[];
  constructor(items: unknown[]) {
    this.items = items;
  }
}

/** A GLOBAL that {@link BUILDERS} allows, waiting for its REDUCE. */
export class Builder {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

/**
 * Bytes as latin-1 text, one char per byte (how pickles carry Python 2 strings and bytes
 * before protocol 3); in chunks, as spreading a long array overflows the call stack.
 *
 * @example
 * ```ts
 * import { latin1Text } from "@kvwire/kvwire/memcache";
 * latin1Text(new Uint8Array([0x68, 0xe9])); // "hé"
 * ```
 */
export function latin1Text(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** The error for a pickle that is not well formed. */
export function malformed(why: string): PickleError {
  return new PickleError(`Malformed pickle: ${why}`);
}

function iterate(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value instanceof PySet) return value.items;
  throw malformed("a set built from something that is not a list");
}

function latin1OrBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value.slice();
  if (typeof value !== "string") throw malformed("bytes built from something that is not text");
  const out = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) throw malformed("bytes built from text beyond latin-1");
    out[i] = c;
  }
  return out;
}

/** Turns the reading forms (PyDict, PySet) into plain values, keeping sharing and cycles. */
export function finish(root: unknown): unknown {
  const done = new Map<object, unknown>();
  const visit = (value: unknown): unknown => {
    if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
    if (value instanceof Builder) throw new UnsafePickleError("GLOBAL", value.name);
    const seen = done.get(value);
    if (seen !== undefined) return seen;
    if (Array.isArray(value)) {
      done.set(value, value);
      for (let i = 0; i < value.length; i++) value[i] = visit(value[i]);
      return value;
    }
    if (value instanceof PySet) {
      const set = new Set<unknown>();
      done.set(value, set);
      for (const item of value.items) set.add(visit(item));
      return set;
    }
    const dict = value as PyDict;
    if (dict.entries.every(([k]) => typeof k === "string")) {
      const object: Record<string, unknown> = {};
      done.set(dict, object);
      for (const [k, v] of dict.entries) {
        Object.defineProperty(object, k as string, {
          value: visit(v),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return object;
    }
    const map = new Map<unknown, unknown>();
    done.set(dict, map);
    for (const [k, v] of dict.entries) map.set(visit(k), visit(v));
    return map;
  };
  return visit(root);
}
