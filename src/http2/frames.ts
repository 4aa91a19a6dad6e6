// HTTP/2 frames (RFC 9113 §4, §6): type, flag, setting and error code constants, the frame
// header reader and encoders of the frames a client sends.

import { ByteWriter } from "../core/bytes.ts";

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  Data: 0x0,
  Headers: 0x1,
  Priority: 0x2,
  RstStream: 0x3,
  Settings: 0x4,
  PushPromise: 0x5,
  Ping: 0x6,
  GoAway: 0x7,
  WindowUpdate: 0x8,
  Continuation: 0x9,
} as const;

/** Frame flags (RFC 9113 §6). */
export const Flag = {
  EndStream: 0x1,
  Ack: 0x1,
  EndHeaders: 0x4,
  Padded: 0x8,
  Priority: 0x20,
} as const;

/** SETTINGS parameters (RFC 9113 §6.5.2). */
export const Setting = {
  HeaderTableSize: 0x1,
  EnablePush: 0x2,
  MaxConcurrentStreams: 0x3,
  InitialWindowSize: 0x4,
  MaxFrameSize: 0x5,
  MaxHeaderListSize: 0x6,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7), by name. */
export const Http2ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/**
 * The name of an HTTP/2 error code, or `"0x.."` for codes the RFC does not define.
 *
 * @example
 * ```ts
 * import { errorCodeName } from "./frames.ts";
 * errorCodeName(8); // "CANCEL"
 * ```
 */
export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(Http2ErrorCode)) if (value === code) return name;
  return `0x${code.toString(16)}`;
}

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Size of a frame header. */
export const FRAME_HEADER_BYTES = 9;
/** The default and smallest SETTINGS_MAX_FRAME_SIZE. */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** The largest legal SETTINGS_MAX_FRAME_SIZE. */
export const MAX_MAX_FRAME_SIZE = 16777215;
/** The largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW = 2 ** 31 - 1;
/** The initial flow-control window of streams and of the connection. */
export const DEFAULT_WINDOW = 65535;

/** A parsed frame header. */
export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

/**
 * Reads a frame header from 9 bytes at `offset` (the reserved bit is ignored).
 *
 * @example
 * ```ts
 * import { readFrameHeader } from "./frames.ts";
 * readFrameHeader(new Uint8Array([0, 0, 0, 4, 1, 0, 0, 0, 0]), 0); // SETTINGS ACK
 * ```
 */
export function readFrameHeader(bytes: Uint8Array, offset: number): FrameHeader {
  return {
    length: (bytes[offset] << 16) | (bytes[offset + 1] << 8) | bytes[offset + 2],
    type: bytes[offset + 3],
    flags: bytes[offset + 4],
    streamId: ((bytes[offset + 5] & 0x7f) * 0x1000000) +
      ((bytes[offset + 6] << 16) | (bytes[offset + 7] << 8) | bytes[offset + 8]),
  };
}

/**
 * Appends one frame: header then payload.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "../core/bytes.ts";
 * import { FrameType, writeFrame } from "./frames.ts";
 * const w = new ByteWriter();
 * writeFrame(w, FrameType.Ping, 0, 0, new Uint8Array(8));
 * w.length; // 17
 * ```
 */
export function writeFrame(
  w: ByteWriter,
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array,
  start = 0,
  end: number = payload.length,
): void {
  const length = end - start;
  w.writeUint8(length >>> 16).writeUint16BE(length & 0xffff).writeUint8(type).writeUint8(flags);
  w.writeUint32BE(streamId).writeBytes(
    start === 0 && end === payload.length ? payload : payload.subarray(start, end),
  );
}

/**
 * Encodes a SETTINGS payload from `[id, value]` pairs.
 *
 * @example
 * ```ts
 * import { encodeSettings, Setting } from "./frames.ts";
 * encodeSettings([[Setting.EnablePush, 0]]); // 6 bytes
 * ```
 */
export function encodeSettings(settings: readonly (readonly [number, number])[]): Uint8Array {
  const w = new ByteWriter(settings.length * 6);
  for (const [id, value] of settings) w.writeUint16BE(id).writeUint32BE(value);
  return w.finish();
}

/**
 * A 4-byte big-endian payload (WINDOW_UPDATE increment, RST_STREAM code).
 *
 * @example
 * ```ts
 * import { uint32Payload } from "./frames.ts";
 * uint32Payload(8); // Uint8Array [0, 0, 0, 8]
 * ```
 */
export function uint32Payload(value: number): Uint8Array {
  return new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
}
