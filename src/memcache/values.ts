// Values and client flags: python-memcached's flag bits (bytes 0, pickle 1, int 2, long 4,
// zlib 8, text 16) plus JSON (32), and zlib compression with CompressionStream("deflate").

import { utf8Decode, utf8Encode } from "../core/bytes.ts";
import { KvError, RemoteProtocolError } from "../core/errors.ts";

/** The client flag bits kvwire reads and writes (python-memcached's, plus `Json`). */
export const ValueFlags = {
  /** Raw bytes (python-memcached: `bytes`). */
  Bytes: 0,
  /** A Python pickle: read back as raw bytes. */
  Pickle: 1,
  /** A decimal integer that fits a JS number. */
  Integer: 2,
  /** A decimal integer as bigint. */
  Long: 4,
  /** zlib-compressed (RFC 1950), combined with one of the others. */
  Compressed: 8,
  /** UTF-8 text (python-memcached: `str`). */
  Text: 16,
  /** JSON (kvwire's own bit). */
  Json: 32,
} as const;

/** A value in its wire form. */
export interface EncodedValue {
  /** The value bytes. */
  value: Uint8Array;
  /** The 32-bit client flags. */
  flags: number;
}

/**
 * Turns values into bytes and client flags and back. The default handles strings, bytes,
 * integers, bigints and (as JSON) anything else `JSON.stringify` accepts.
 *
 * @example
 * ```ts
 * import type { Serializer } from "@kvwire/kvwire/memcache";
 * const bytesOnly: Serializer = {
 *   serialize: (v) => ({ value: v as Uint8Array, flags: 0 }),
 *   deserialize: (value) => value,
 * };
 * ```
 */
export interface Serializer {
  /** Turns a value into bytes and client flags. */
  serialize(value: unknown): EncodedValue;
  /** Turns bytes and client flags back into a value. */
  deserialize(value: Uint8Array, flags: number): unknown;
}

/**
 * The default serializer: strings as UTF-8 text (flag 16), `Uint8Array` as bytes (0), safe
 * integers (2), bigints (4), everything else as JSON (32). Reading, unknown flags and
 * pickles give the raw bytes: zero-copy views into the received data, as the Redis client's
 * bulk strings (`slice()` one to keep it apart from the network chunk it arrived in).
 *
 * @example
 * ```ts
 * import { defaultSerializer } from "@kvwire/kvwire/memcache";
 * const { value, flags } = defaultSerializer.serialize(42); // bytes of "42", flags 2
 * defaultSerializer.deserialize(value, flags); // 42
 * ```
 */
export const defaultSerializer: Serializer = {
  serialize(value: unknown): EncodedValue {
    if (typeof value === "string") return { value: utf8Encode(value), flags: ValueFlags.Text };
    if (value instanceof Uint8Array) return { value, flags: ValueFlags.Bytes };
    if (typeof value === "number" && Number.isSafeInteger(value)) {
      return { value: utf8Encode(String(value)), flags: ValueFlags.Integer };
    }
    if (typeof value === "bigint") {
      return { value: utf8Encode(String(value)), flags: ValueFlags.Long };
    }
    const json = value === undefined ? undefined : JSON.stringify(value);
    if (json === undefined) {
      throw new TypeError(`A memcache value must be JSON-serializable, got ${typeof value}`);
    }
    return { value: utf8Encode(json), flags: ValueFlags.Json };
  },
  deserialize(value: Uint8Array, flags: number): unknown {
    switch (flags) {
      case ValueFlags.Text:
        return utf8Decode(value);
      case ValueFlags.Integer: {
        const text = utf8Decode(value).trim();
        const n = Number(text);
        return Number.isSafeInteger(n) ? n : BigInt(text);
      }
      case ValueFlags.Long:
        return BigInt(utf8Decode(value).trim());
      case ValueFlags.Json:
        return JSON.parse(utf8Decode(value));
      default:
        return value;
    }
  },
};

async function pipe(
  bytes: Uint8Array,
  stream: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  const written = writer.write(bytes as Uint8Array<ArrayBuffer>).then(() => writer.close());
  written.catch(() => {}); // a failure also errors the readable side, which reports it
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
  }
  await written;
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * zlib-compresses bytes (what python-memcached's `zlib.compress` writes).
 *
 * @example
 * ```ts
 * import { compress, decompress } from "@kvwire/kvwire/memcache";
 * const packed = await compress(new TextEncoder().encode("a".repeat(1000)));
 * (await decompress(packed)).length; // 1000
 * ```
 */
export function compress(bytes: Uint8Array): Promise<Uint8Array> {
  return pipe(bytes, new CompressionStream("deflate"));
}

/**
 * Inflates zlib-compressed bytes; rejects on corrupt input.
 *
 * @example
 * ```ts
 * import { compress, decompress } from "@kvwire/kvwire/memcache";
 * await decompress(await compress(new Uint8Array([1, 2, 3]))); // Uint8Array [1, 2, 3]
 * ```
 */
export function decompress(bytes: Uint8Array): Promise<Uint8Array> {
  return pipe(bytes, new DecompressionStream("deflate"));
}

/**
 * Compresses and inflates values (the `compressor` option); the default is zlib, as
 * python-memcached's `zlib.compress`/`zlib.decompress`.
 *
 * @example
 * ```ts
 * import type { Compressor } from "@kvwire/kvwire/memcache";
 * const identity: Compressor = { compress: (b) => b, decompress: (b) => b };
 * ```
 */
export interface Compressor {
  /** Compresses bytes. */
  compress(bytes: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Inflates bytes; throws or rejects on corrupt input. */
  decompress(bytes: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/**
 * zlib (RFC 1950) through the runtime's `CompressionStream("deflate")`, which Deno, Bun,
 * Node ≥ 18 and Workers all have.
 *
 * @example
 * ```ts
 * import { zlibCompressor } from "@kvwire/kvwire/memcache";
 * await zlibCompressor.compress(new TextEncoder().encode("aaaa"));
 * ```
 */
export const zlibCompressor: Compressor = { compress, decompress };

/**
 * The error for a stored value that does not decode as its client flags say; a decoder's own
 * `KvError` (such as an `UnsafePickleError`) is kept as it is.
 */
function corrupt(flags: number, error: unknown): KvError {
  if (error instanceof KvError) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new RemoteProtocolError(
    `memcache value with client flags ${flags} does not decode: ${why}`,
    { cause: error },
  );
}

/** Options of {@link ValueCodec.encode}. */
export interface EncodeOptions {
  /** Compress values of at least this many bytes (0 = never). */
  minCompressLen?: number;
  /** Store a string or `Uint8Array` as is with these client flags (no serializer). */
  flags?: number;
}

/**
 * Turns values into what is stored (serializer, then zlib when it pays off, then the size
 * check) and back.
 *
 * @example
 * ```ts
 * import { defaultSerializer, ValueCodec } from "@kvwire/kvwire/memcache";
 * const codec = new ValueCodec(defaultSerializer, 0, 1024 * 1024);
 * const stored = await codec.encode("key", { a: 1 }); // JSON, flags 32
 * codec.decode({ ...stored }); // { a: 1 }
 * ```
 */
export class ValueCodec {
  readonly #serializer: Serializer;
  readonly #minCompressLen: number;
  readonly #maxValueSize: number;
  readonly #compressor: Compressor;

  /** Creates a codec. */
  constructor(
    serializer: Serializer,
    minCompressLen: number,
    maxValueSize: number,
    compressor: Compressor = zlibCompressor,
  ) {
    this.#serializer = serializer;
    this.#minCompressLen = minCompressLen;
    this.#maxValueSize = maxValueSize;
    this.#compressor = compressor;
  }

  /**
   * Serializes, compresses when worth it, and checks the size: a `RangeError` naming the key
   * when over `maxValueSize`, before anything is sent.
   */
  async encode(key: string, value: unknown, options: EncodeOptions = {}): Promise<EncodedValue> {
    let encoded: EncodedValue;
    if (options.flags !== undefined) {
      if (typeof value === "string") encoded = { value: utf8Encode(value), flags: options.flags };
      else if (value instanceof Uint8Array) encoded = { value, flags: options.flags };
      else throw new TypeError("With explicit flags, the value must be a string or Uint8Array");
    } else {
      encoded = this.#serializer.serialize(value);
      const threshold = options.minCompressLen ?? this.#minCompressLen;
      if (threshold > 0 && encoded.value.length >= threshold) {
        const packed = await this.#compressor.compress(encoded.value);
        if (packed.length < encoded.value.length) {
          encoded = { value: packed, flags: encoded.flags | ValueFlags.Compressed };
        }
      }
    }
    if (encoded.value.length > this.#maxValueSize) {
      throw new RangeError(
        `The value for memcache key ${JSON.stringify(key.slice(0, 60))} is ` +
          `${encoded.value.length} bytes; the limit is ${this.#maxValueSize} (maxValueSize)`,
      );
    }
    return encoded;
  }

  /**
   * The value of a stored item: synchronous unless it was compressed. A value that does not
   * decode as its flags say (not zlib, not JSON, not an integer, or the serializer throws) is a
   * `RemoteProtocolError` with the decoder's error as `cause`. The reply was framed correctly,
   * so the connection is kept; the stored value is what is corrupt.
   */
  decode(item: EncodedValue): unknown | Promise<unknown> {
    const serializer = this.#serializer;
    const flags = item.flags;
    try {
      if ((flags & ValueFlags.Compressed) === 0) return serializer.deserialize(item.value, flags);
      return Promise.resolve(this.#compressor.decompress(item.value)).then(
        (bytes) => serializer.deserialize(bytes, flags & ~ValueFlags.Compressed),
      ).catch((error) => {
        throw corrupt(flags, error);
      });
    } catch (error) {
      throw corrupt(flags, error);
    }
  }

  /** Decodes into callbacks, without a Promise on the common (uncompressed) path. */
  settle(item: EncodedValue, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    let value: unknown;
    try {
      value = this.decode(item);
    } catch (error) {
      reject(error as Error);
      return;
    }
    if (value instanceof Promise) value.then(resolve, reject);
    else resolve(value);
  }
}
