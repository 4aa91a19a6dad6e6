// python-memcached's value format (`serializer: "python"`): its flags for str, bytes, int and
// pickle, with pickles read and written by kvwire's safe plain-data codec; and the option's choice.

import { utf8Encode } from "../core/bytes.ts";
import { unpickle } from "./pickle.ts";
import { pickle, type PickleProtocol } from "./pickle_writer.ts";
import { defaultSerializer, type EncodedValue, type Serializer, ValueFlags } from "./values.ts";

/** The `serializer` option: a named format, or your own {@link Serializer}. */
export type SerializerChoice = "kvwire" | "python" | Serializer;

/**
 * python-memcached's values, as its `_val_to_store_info` and `_recv_value` do: str as UTF-8
 * text (flag 16), bytes (0), int (2; bigints as long, 4, which it reads as int), anything else
 * pickled (1) with `pickleProtocol` (default 0, python-memcached's). Reading, pickles go through
 * {@link unpickle} (plain data only: a pickled object is an `UnsafePickleError`), kvwire's
 * JSON (32) is still read, and other flags give the raw bytes.
 *
 * @example
 * ```ts
 * import { pythonSerializer } from "@kvwire/kvwire/memcache";
 * const python = pythonSerializer({ pickleProtocol: 2 });
 * const { value, flags } = python.serialize({ a: [1.5, true] }); // flags 1 (pickle)
 * python.deserialize(value, flags); // { a: [1.5, true] }
 * ```
 */
export function pythonSerializer(options: { pickleProtocol?: PickleProtocol } = {}): Serializer {
  const protocol = options.pickleProtocol ?? 0;
  pickle(null, protocol); // checks the protocol now
  return {
    serialize(value: unknown): EncodedValue {
      if (typeof value === "string") return { value: utf8Encode(value), flags: ValueFlags.Text };
      if (value instanceof Uint8Array) return { value, flags: ValueFlags.Bytes };
      if (typeof value === "number" && Number.isSafeInteger(value) && !Object.is(value, -0)) {
        return { value: utf8Encode(String(value)), flags: ValueFlags.Integer };
      }
      if (typeof value === "bigint") {
        return { value: utf8Encode(String(value)), flags: ValueFlags.Long };
      }
      return { value: pickle(value, protocol), flags: ValueFlags.Pickle };
    },
    deserialize(value: Uint8Array, flags: number): unknown {
      if (flags === ValueFlags.Pickle) return unpickle(value);
      return defaultSerializer.deserialize(value, flags);
    },
  };
}

/**
 * The serializer an option names: `"kvwire"` (default) is {@link defaultSerializer},
 * `"python"` is {@link pythonSerializer} with `pickleProtocol`. A `TypeError` otherwise.
 *
 * @example
 * ```ts
 * import { resolveSerializer } from "@kvwire/kvwire/memcache";
 * resolveSerializer("python", 0).serialize(1.5).flags; // 1
 * ```
 */
export function resolveSerializer(
  choice: SerializerChoice | undefined,
  pickleProtocol?: PickleProtocol,
): Serializer {
  if (choice === undefined || choice === "kvwire") return defaultSerializer;
  if (choice === "python") return pythonSerializer({ pickleProtocol });
  if (
    typeof choice === "object" && choice !== null && typeof choice.serialize === "function" &&
    typeof choice.deserialize === "function"
  ) return choice;
  throw new TypeError(
    `The memcache serializer option must be "kvwire", "python" or { serialize, deserialize }`,
  );
}
