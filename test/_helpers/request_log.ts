// A connector that wraps the default one and records the path of every request the client
// writes, HTTP/1.1 or gRPC (HTTP/2 HEADERS decoded; a gRPC method is recorded as the gateway path
// it serves), and the text written (header fields decoded), under TLS too, so tests can tell how
// many requests a call made (read coalescing, retries) and what they carried, on both protocols.

import { defaultConnect } from "../../src/core/default_connect.ts";
import type { Connect, Transport } from "../../src/core/transport.ts";
import { GRPC_METHODS } from "../../src/etcd/grpc/methods.ts";
import { concatBytes } from "../../src/core/bytes.ts";
import { PREFACE } from "../../src/http2/frames.ts";
import type { HeaderField } from "../../src/http2/hpack.ts";
import { FakePeer } from "../http2/_peer.ts";

const REQUEST_LINE = /(?:GET|POST|PUT|DELETE) (\/\S*) HTTP\/1\.1\r\n/g;
const GATEWAY_PATH = new Map(Object.entries(GRPC_METHODS).map(([path, m]) => [m.path, path]));

/**
 * The gateway path a gRPC method path serves (`/etcdserverpb.KV/Range` → `/v3/kv/range`); any
 * other path as it is.
 *
 * @example
 * ```ts
 * gatewayPathOf("/etcdserverpb.Lease/LeaseGrant"); // "/v3/lease/grant"
 * ```
 */
export function gatewayPathOf(grpcPath: string): string {
  return GATEWAY_PATH.get(grpcPath) ?? grpcPath;
}

/**
 * Reads the HTTP/2 frames a client writes on one connection (with {@link FakePeer}'s parser):
 * `onHeaders` gets every complete header block, decoded. Bytes that do not start with the HTTP/2
 * preface are not HTTP/2: ignored.
 */
function http2Reader(
  onHeaders: (fields: readonly HeaderField[]) => void,
): (chunk: Uint8Array) => void {
  let head: Uint8Array = new Uint8Array(0);
  let peer: FakePeer | undefined;
  return (chunk) => {
    if (peer === undefined) {
      if (head.length >= PREFACE.length) return; // not HTTP/2
      head = concatBytes([head, chunk]);
      if (head.length < PREFACE.length) return;
      if (!PREFACE.every((b, i) => head[i] === b)) return;
      peer = new FakePeer();
      chunk = head;
    }
    for (const frame of peer.read(chunk)) if (frame.headers) onHeaders(frame.headers);
  };
}

/**
 * A `connect` option recording request paths in `paths`, in the order they were written (a
 * gRPC call as the gateway path of its method), and every chunk written as text in `written`
 * (for HTTP/2, also each header block as `name: value` lines).
 *
 * @example
 * ```ts
 * const log = requestLog();
 * const etcd = new EtcdClient({ endpoints: [endpoint], connect: log.connect });
 * await etcd.get("k");
 * log.paths; // ["/v3/kv/range"], on either protocol
 * ```
 */
export function requestLog(): {
  connect: Connect;
  paths: string[];
  written: string[];
  take: () => string[];
} {
  const paths: string[] = [];
  const written: string[] = [];
  const connect: Connect = async (address, options) => {
    const t = await defaultConnect(address, options);
    const http2 = http2Reader((fields) => {
      written.push(fields.map(([name, value]) => `\r\n${name}: ${value}`).join("") + "\r\n");
      const path = fields.find(([name]) => name === ":path")?.[1] ?? "";
      paths.push(gatewayPathOf(path));
    });
    const wrapped: Transport = {
      read: () => t.read(),
      write: (chunk) => {
        const text = new TextDecoder().decode(chunk);
        written.push(text);
        for (const match of text.matchAll(REQUEST_LINE)) paths.push(match[1]);
        http2(chunk);
        return t.write(chunk);
      },
      ready: () => t.ready(),
      get bufferedAmount() {
        return t.bufferedAmount;
      },
      end: () => t.end(),
      close: (reason) => t.close(reason),
      closed: t.closed,
      info: t.info,
    };
    return wrapped;
  };
  /** The paths recorded since the last call, sorted. */
  const take = (): string[] => paths.splice(0).sort();
  return { connect, paths, written, take };
}
