// The memcache binary protocol's framing (memcached wiki "BinaryProtocolRevamped"): a 24-byte
// header, extras, key and value; opcodes, status codes and the SASL PLAIN message.

import { type ByteWriter, readUint16BE, readUint32BE, utf8Encode } from "../core/bytes.ts";

/** Request opcodes kvwire sends. */
export const Opcode = {
  Get: 0x00,
  Set: 0x01,
  Add: 0x02,
  Replace: 0x03,
  Delete: 0x04,
  Increment: 0x05,
  Decrement: 0x06,
  Flush: 0x08,
  GetQ: 0x09,
  Noop: 0x0a,
  Version: 0x0b,
  Append: 0x0e,
  Prepend: 0x0f,
  Stat: 0x10,
  SetQ: 0x11,
  AddQ: 0x12,
  ReplaceQ: 0x13,
  DeleteQ: 0x14,
  AppendQ: 0x19,
  PrependQ: 0x1a,
  Touch: 0x1c,
  Gat: 0x1d,
  GatQ: 0x1e,
  SaslAuth: 0x21,
} as const;

/** Response status codes. */
export const Status = {
  NoError: 0x00,
  KeyNotFound: 0x01,
  KeyExists: 0x02,
  ValueTooLarge: 0x03,
  InvalidArguments: 0x04,
  NotStored: 0x05,
  NonNumeric: 0x06,
  AuthError: 0x20,
  AuthContinue: 0x21,
  UnknownCommand: 0x81,
  OutOfMemory: 0x82,
} as const;

const STATUS_NAMES: Record<number, string> = {
  0x01: "KEY_ENOENT",
  0x02: "KEY_EEXISTS",
  0x03: "E2BIG",
  0x04: "EINVAL",
  0x05: "NOT_STORED",
  0x06: "DELTA_BADVAL",
  0x07: "NOT_MY_VBUCKET",
  0x20: "AUTH_ERROR",
  0x21: "AUTH_CONTINUE",
  0x81: "UNKNOWN_COMMAND",
  0x82: "ENOMEM",
  0x83: "NOT_SUPPORTED",
  0x84: "EINTERNAL",
  0x85: "EBUSY",
  0x86: "ETMPFAIL",
};

/**
 * The name of a binary status code, e.g. `"E2BIG"`.
 *
 * @example
 * ```ts
 * import { statusName } from "@kvwire/kvwire/memcache";
 * statusName(0x03); // "E2BIG"
 * ```
 */
export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `STATUS_0x${status.toString(16).padStart(2, "0")}`;
}

/** Size of every header. */
export const HEADER_LENGTH = 24;

/**
 * Writes a request header. Extras, key and value follow, in that order.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "@kvwire/kvwire";
 * import { Opcode, writeRequestHeader } from "@kvwire/kvwire/memcache";
 * const w = new ByteWriter();
 * writeRequestHeader(w, Opcode.Noop, 0, 0, 0, 7);
 * w.finish().length; // 24
 * ```
 */
export function writeRequestHeader(
  w: ByteWriter,
  opcode: number,
  keyLength: number,
  extrasLength: number,
  valueLength: number,
  opaque: number,
  cas?: bigint,
): void {
  w.writeUint8(0x80).writeUint8(opcode).writeUint16BE(keyLength);
  w.writeUint8(extrasLength).writeUint8(0).writeUint16BE(0);
  w.writeUint32BE(extrasLength + keyLength + valueLength).writeUint32BE(opaque);
  if (cas === undefined || cas === 0n) w.writeUint32BE(0).writeUint32BE(0);
  else w.writeBigInt64BE(cas);
}

/** A response header. */
export interface ResponseHeader {
  /** The opcode the response answers. */
  opcode: number;
  /** Length of the key, in bytes. */
  keyLength: number;
  /** Length of the extras, in bytes. */
  extrasLength: number;
  /** The response status code. */
  status: number;
  /** Length of extras, key and value together, in bytes. */
  bodyLength: number;
  /** The opaque copied from the request. */
  opaque: number;
}

/**
 * Reads a response header from 24 bytes; `undefined` when the magic byte is wrong.
 *
 * @example
 * ```ts
 * import { readResponseHeader } from "@kvwire/kvwire/memcache";
 * const bytes = new Uint8Array(24);
 * bytes[0] = 0x81;
 * readResponseHeader(bytes)?.status; // 0
 * ```
 */
export function readResponseHeader(bytes: Uint8Array): ResponseHeader | undefined {
  if (bytes[0] !== 0x81) return undefined;
  return {
    opcode: bytes[1],
    keyLength: readUint16BE(bytes, 2),
    extrasLength: bytes[4],
    status: readUint16BE(bytes, 6),
    bodyLength: readUint32BE(bytes, 8),
    opaque: readUint32BE(bytes, 12),
  };
}

/**
 * The SASL PLAIN initial response (RFC 4616): `authzid NUL authcid NUL passwd`, empty authzid.
 *
 * @example
 * ```ts
 * import { saslPlain } from "@kvwire/kvwire/memcache";
 * saslPlain("u", "p"); // bytes of "\0u\0p"
 * ```
 */
export function saslPlain(username: string, password: string): Uint8Array {
  if (username.includes("\0") || password.includes("\0")) {
    throw new TypeError("SASL PLAIN credentials must not contain NUL characters");
  }
  return utf8Encode(`\0${username}\0${password}`);
}
