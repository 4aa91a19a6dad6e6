// THFT request framing (v0 48-byte header, v1 header + meta struct) and the response frame
// (total length, error name, strict REPLY header, seqid, result struct): pegasus.md §1.2-1.5.

import { RemoteProtocolError } from "../core/errors.ts";
import { type ArgsWriter } from "./requests.ts";
import { MessageType, ThriftReader, ThriftWriter, TType } from "./thrift.ts";

/** What goes in a request frame. */
export interface RequestFrame {
  /** RPC name, such as `"RPC_RRDB_RRDB_GET"`. */
  rpc: string;
  /** Thrift sequence id that the reply echoes. */
  seqid: number;
  /** Writes the request's args. */
  args: ArgsWriter;
  /** The table's app id. */
  appId: number;
  /** The partition index. */
  partitionIndex: number;
  /** client_timeout in milliseconds. */
  timeoutMs: number;
  /** The partition hash (crc64 of the hash key). */
  partitionHash: bigint;
  /** 1 writes the v1 header (needed for backup requests); default 0. */
  headerVersion?: 0 | 1;
  /** Mark the request as a backup request (v1 header only); default false. */
  isBackupRequest?: boolean;
  /** Thrift message type: CALL (default) or ONEWAY. */
  messageType?: number;
}

const MAGIC = [0x54, 0x48, 0x46, 0x54]; // "THFT"

/**
 * Encodes a whole request: THFT header and the strict Thrift CALL message.
 *
 * @example
 * ```ts
 * import { blobArgs, encodeRequestFrame } from "@kvwire/kvwire/pegasus";
 * const bytes = encodeRequestFrame({
 *   rpc: "RPC_RRDB_RRDB_GET", seqid: 1, args: blobArgs(new Uint8Array([0, 1, 104, 115])),
 *   appId: 1, partitionIndex: 0, timeoutMs: 1000, partitionHash: 0x555d9839ecea8b30n,
 * });
 * bytes.length; // 89
 * ```
 */
export function encodeRequestFrame(frame: RequestFrame): Uint8Array {
  const body = new ThriftWriter(64 + frame.rpc.length);
  body.writeUint32BE((0x80010000 | (frame.messageType ?? MessageType.CALL)) >>> 0);
  body.ascii(frame.rpc).i32(frame.seqid);
  frame.args(body);
  const bodyBytes = body.finish();
  const out = new ThriftWriter(bodyBytes.length + 64);
  for (const b of MAGIC) out.writeUint8(b);
  if (frame.headerVersion === 1) {
    const meta = new ThriftWriter(48);
    meta.field(TType.I32, 1).i32(frame.appId).field(TType.I32, 2).i32(frame.partitionIndex);
    meta.field(TType.I32, 3).i32(frame.timeoutMs).field(TType.I64, 4).i64(frame.partitionHash);
    meta.field(TType.BOOL, 5).bool(frame.isBackupRequest ?? false).stop();
    const metaBytes = meta.finish();
    out.writeUint32BE(1).writeUint32BE(metaBytes.length).writeUint32BE(bodyBytes.length);
    out.writeBytes(metaBytes);
  } else {
    out.writeUint32BE(0).writeUint32BE(48).writeUint32BE(0);
    out.writeUint32BE(bodyBytes.length).writeUint32BE(0);
    out.i32(frame.appId).i32(frame.partitionIndex).i32(frame.timeoutMs);
    out.i32(Math.imul(frame.appId, 7919) + frame.partitionIndex | 0);
    out.i64(frame.partitionHash);
  }
  out.writeBytes(bodyBytes);
  return out.finish();
}

/** A decoded response frame. */
export interface ResponseFrame {
  /** The rDSN error name, such as `"ERR_OK"`. */
  errorName: string;
  /** RPC name of the Thrift message header, such as `"RPC_RRDB_RRDB_GET_ACK"`. */
  rpc: string;
  /** Thrift sequence id of the request answered. */
  seqid: number;
  /** A reader over the result struct (after the message header) when there is a body. */
  body: ThriftReader | undefined;
}

/** The header of a response frame: everything before the result struct. */
export interface ResponseHeader {
  /** The rDSN error name, such as `"ERR_OK"`. */
  errorName: string;
  /** RPC name of the Thrift message header, such as `"RPC_RRDB_RRDB_GET_ACK"`. */
  rpc: string;
  /** Thrift sequence id of the request answered. */
  seqid: number;
  /** Bytes of the header, total length included: the result struct starts here. */
  length: number;
}

/** Longest error or RPC name accepted. */
const MAX_NAME = 256;
/**
 * Longest response header: total length, error name, strict REPLY word, RPC name, seqid.
 *
 * @example
 * ```ts
 * import { MAX_RESPONSE_HEADER } from "@kvwire/kvwire/pegasus";
 * MAX_RESPONSE_HEADER; // 532
 * ```
 */
export const MAX_RESPONSE_HEADER: number = 4 + (4 + MAX_NAME) + 4 + (4 + MAX_NAME) + 4;
const STRICT_REPLY = (0x80010000 | MessageType.REPLY) >>> 0;

/**
 * Decodes the header of a response frame from its first bytes (`bytes` starts at the u32
 * total length, `total`), as soon as they are there: `undefined` while more are needed,
 * `RemoteProtocolError` as soon as what arrived cannot start a reply (names that are not rDSN
 * names, no strict REPLY word, a header longer than the frame).
 *
 * @example
 * ```ts
 * import { decodeResponseHeader } from "@kvwire/kvwire/pegasus";
 * decodeResponseHeader(new Uint8Array([0, 0, 0, 0x3a, 0, 0, 0, 0x11]), 0x3a); // undefined
 * ```
 */
export function decodeResponseHeader(
  bytes: Uint8Array,
  total: number,
): ResponseHeader | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 4;
  /** Whether `n` more header bytes are there; throws when the frame is too short for them. */
  const have = (n: number): boolean => {
    if (pos + n > total) {
      throw new RemoteProtocolError(
        `Pegasus reply frame of ${total} bytes is shorter than its header`,
      );
    }
    return pos + n <= bytes.length;
  };
  const name = (what: string): string | undefined => {
    if (!have(4)) return undefined;
    const length = view.getInt32(pos);
    if (length < 1 || length > MAX_NAME) {
      throw new RemoteProtocolError(`Pegasus reply has an implausible ${what} length ${length}`);
    }
    const complete = have(4 + length);
    const end = complete ? pos + 4 + length : bytes.length;
    let text = "";
    for (let i = pos + 4; i < end; i++) {
      const c = bytes[i];
      if (!(c >= 0x41 && c <= 0x5a || c >= 0x30 && c <= 0x39 || c === 0x5f)) {
        throw new RemoteProtocolError(
          `Pegasus reply ${what} has byte 0x${c.toString(16)}: not an rDSN name`,
        );
      }
      text += String.fromCharCode(c);
    }
    if (!complete) return undefined; // the characters so far are fine
    pos += 4 + length;
    return text;
  };
  const errorName = name("error name");
  if (errorName === undefined || !have(4)) return undefined;
  const version = view.getUint32(pos);
  if (version !== STRICT_REPLY) {
    throw new RemoteProtocolError(
      `Pegasus reply has no strict Thrift REPLY header (0x${version.toString(16)})`,
    );
  }
  pos += 4;
  const rpc = name("RPC name");
  if (rpc === undefined || !have(4)) return undefined;
  const seqid = view.getInt32(pos);
  return { errorName, rpc, seqid, length: pos + 4 };
}

/**
 * Decodes one complete response frame (`frame` starts with its u32 total length).
 *
 * @example
 * ```ts
 * import { decodeResponseFrame } from "@kvwire/kvwire/pegasus";
 * const te = new TextEncoder();
 * const bytes = new Uint8Array([0, 0, 0, 0x3a, 0, 0, 0, 0x11, ...te.encode("ERR_INVALID_STATE"),
 *   0x80, 1, 0, 2, 0, 0, 0, 0x15, ...te.encode("RPC_RRDB_RRDB_GET_ACK"), 0, 0, 0, 1]);
 * decodeResponseFrame(bytes).errorName; // "ERR_INVALID_STATE"
 * ```
 */
export function decodeResponseFrame(frame: Uint8Array): ResponseFrame {
  const header = decodeResponseHeader(frame, frame.length);
  if (!header) throw new RemoteProtocolError("Pegasus reply frame ends inside its header");
  const { errorName, rpc, seqid, length } = header;
  const body = length < frame.length ? new ThriftReader(frame, length, frame.length) : undefined;
  return { errorName, rpc, seqid, body };
}

/**
 * Reads the result wrapper of a reply body: field 0 holds the response struct, which
 * `decode` reads; other fields are skipped. Throws when field 0 is missing.
 *
 * @example
 * ```ts
 * import { decodeResult, ThriftReader } from "@kvwire/kvwire/pegasus";
 * const r = new ThriftReader(new Uint8Array([12, 0, 0, 8, 0, 1, 0, 0, 0, 5, 0, 0]));
 * decodeResult(r, (s) => { s.fieldHeader(); const v = s.i32(); s.fieldHeader(); return v; }); // 5
 * ```
 */
export function decodeResult<T>(r: ThriftReader, decode: (r: ThriftReader) => T): T {
  let result: { value: T } | undefined;
  r.struct((type, id) => {
    if (id !== 0 || type !== TType.STRUCT) return false;
    result = { value: decode(r) };
    return true;
  });
  if (!result) throw new RemoteProtocolError("Pegasus reply has no result (field 0)");
  return result.value;
}
