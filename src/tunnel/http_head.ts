// The HTTP/1.1 part of the tunnel relay (RFC 9112 request head, RFC 6455 §4 opening
// handshake): a strict, size-bounded request-head parser and the few responses the relay sends.

import { asciiDecode, indexOfBytes, utf8Encode } from "../core/bytes.ts";
import { sha1Hex } from "../core/sha1.ts";

/** A parsed request head. Header names are lower case; repeated headers are joined by ", ". */
export interface RequestHead {
  /** The request method (`GET`). */
  readonly method: string;
  /** The request target as sent (`/tunnel?target=...`). */
  readonly target: string;
  /** Header fields by lower-case name. */
  readonly headers: ReadonlyMap<string, string>;
}

/** Thrown for a request head the relay will not read; `status` is the HTTP status to answer. */
export class HttpHeadError extends Error {
  /** The status code to answer with (400, 431). */
  readonly status: number;

  /** Creates the error. */
  constructor(message: string, status = 400) {
    super(message);
    this.name = "HttpHeadError";
    this.status = status;
  }
}

/** Largest request head accepted, in bytes. */
export const MAX_HEAD_SIZE = 16 * 1024;
const MAX_HEADERS = 100;
const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Finds the end of a request head in the bytes received so far. Returns the index just past
 * the blank line, or -1 when more bytes are needed. Throws HttpHeadError (431) when the head
 * grows past {@link MAX_HEAD_SIZE}.
 *
 * @example
 * ```ts
 * import { findHeadEnd } from "@kvwire/kvwire/tunnel";
 * findHeadEnd(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\nrest")); // 18
 * ```
 */
export function findHeadEnd(bytes: Uint8Array): number {
  const at = indexOfBytes(bytes.subarray(0, MAX_HEAD_SIZE + 4), CRLFCRLF);
  if (at >= 0) return at + 4;
  if (bytes.length > MAX_HEAD_SIZE) throw new HttpHeadError("Request head too large", 431);
  return -1;
}

/**
 * Parses a request head (the bytes up to and including the blank line).
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "@kvwire/kvwire/tunnel";
 * const head = parseRequestHead(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
 * head.headers.get("host"); // "x"
 * ```
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead {
  for (const byte of bytes) {
    if (byte > 0x7e || (byte < 0x20 && byte !== 9 && byte !== 10 && byte !== 13)) {
      throw new HttpHeadError("Request head has non-ASCII or control bytes");
    }
  }
  const lines = asciiDecode(bytes).split("\r\n");
  const request = /^([A-Z]+) (\S+) HTTP\/1\.1$/.exec(lines[0]);
  if (!request) throw new HttpHeadError("Malformed request line");
  const headers = new Map<string, string>();
  let count = 0;
  for (const line of lines.slice(1)) {
    if (line === "") break;
    if (++count > MAX_HEADERS) throw new HttpHeadError("Too many header fields", 431);
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) throw new HttpHeadError("Malformed header field");
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }
  return { method: request[1], target: request[2], headers };
}

/** The parts of an opening handshake the relay needs. */
export interface UpgradeRequest {
  /** The path of the request target, without the query. */
  readonly path: string;
  /** The query parameters (target, window, tls, token...). */
  readonly query: URLSearchParams;
  /** The `Sec-WebSocket-Key`, validated. */
  readonly key: string;
  /** Subprotocols offered, in order. */
  readonly protocols: readonly string[];
}

/**
 * Checks that a head is a WebSocket opening handshake (RFC 6455 §4.2.1) and extracts what the
 * relay needs; returns undefined for a request that is not an upgrade at all, and throws
 * HttpHeadError (400, or 426 for a version other than 13) for a broken one.
 *
 * @example
 * ```ts
 * import { parseRequestHead, parseUpgrade } from "@kvwire/kvwire/tunnel";
 * const head = parseRequestHead(new TextEncoder().encode("GET /healthz HTTP/1.1\r\n\r\n"));
 * parseUpgrade(head); // undefined: a plain request
 * ```
 */
export function parseUpgrade(head: RequestHead): UpgradeRequest | undefined {
  const upgrade = head.headers.get("upgrade")?.toLowerCase();
  if (upgrade === undefined) return undefined;
  if (upgrade !== "websocket") throw new HttpHeadError(`Cannot upgrade to "${upgrade}"`);
  if (head.method !== "GET") throw new HttpHeadError("A websocket upgrade must be a GET");
  const connection = (head.headers.get("connection") ?? "").toLowerCase().split(/\s*,\s*/);
  if (!connection.includes("upgrade")) throw new HttpHeadError("Connection: upgrade is missing");
  if (head.headers.get("sec-websocket-version") !== "13") {
    throw new HttpHeadError("Only websocket version 13 is supported", 426);
  }
  const key = head.headers.get("sec-websocket-key") ?? "";
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) throw new HttpHeadError("Bad sec-websocket-key");
  const url = new URL(head.target, "http://relay.invalid");
  const protocols = (head.headers.get("sec-websocket-protocol") ?? "")
    .split(",").map((p) => p.trim()).filter((p) => p !== "");
  return { path: url.pathname, query: url.searchParams, key, protocols };
}

/**
 * The `Sec-WebSocket-Accept` value for a key (base64 of SHA-1 of key + RFC 6455 GUID).
 *
 * @example
 * ```ts
 * import { acceptKey } from "@kvwire/kvwire/tunnel";
 * acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function acceptKey(key: string): string {
  const hex = sha1Hex(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`);
  let binary = "";
  for (let i = 0; i < 40; i += 2) binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(binary);
}

/**
 * The 101 response completing a handshake, selecting `protocol` if given.
 *
 * @example
 * ```ts
 * import { switchingProtocols } from "@kvwire/kvwire/tunnel";
 * switchingProtocols("dGhlIHNhbXBsZSBub25jZQ==", "kvwire.tunnel.v1");
 * ```
 */
export function switchingProtocols(key: string, protocol?: string): Uint8Array {
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `sec-websocket-accept: ${acceptKey(key)}`,
    ...(protocol ? [`sec-websocket-protocol: ${protocol}`] : []),
  ];
  return utf8Encode(`${lines.join("\r\n")}\r\n\r\n`);
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/**
 * A complete response with a body, closing the connection.
 *
 * @example
 * ```ts
 * import { httpResponse } from "@kvwire/kvwire/tunnel";
 * httpResponse(404, "text/plain", "Not found\n");
 * ```
 */
export function httpResponse(status: number, contentType: string, body: string): Uint8Array {
  const bytes = utf8Encode(body);
  const extra = status === 426 ? "sec-websocket-version: 13\r\nUpgrade: websocket\r\n" : "";
  const head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\n` +
    `Content-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\n` +
    `Cache-Control: no-store\r\n${extra}Connection: close\r\n\r\n`;
  const out = new Uint8Array(head.length + bytes.length);
  out.set(utf8Encode(head));
  out.set(bytes, head.length);
  return out;
}
