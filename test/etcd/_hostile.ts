// A tiny etcd v3 JSON gateway for the hostile-server kit: its own HTTP/1.1 request parser and an
// in-memory KV (range, put, deleterange, txn of ranges and puts, status, leases, watch), base64.

import { Buffer } from "node:buffer";
import type { HostileProtocol } from "../_helpers/hostile_server.ts";

/** One parsed HTTP request. */
export interface GatewayRequest {
  method: string;
  path: string;
  json: Record<string, unknown>;
}

interface Stored {
  value: string; // base64
  create: number;
  mod: number;
  version: number;
  lease: string;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

/** The value every key starts with when a gateway is created with `seed` (tests check it). */
export function seededValue(key: string): string {
  return `value-of-${key}`;
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: unknown): Buffer => Buffer.from(String(text ?? ""), "base64");

/**
 * A gateway whose store is shared by every connection. `seed` keys are present from the
 * start with {@link seededValue}.
 */
export function etcdGateway(seed: string[] = []): HostileProtocol<GatewayRequest> & {
  readonly store: Map<string, Stored>;
  /** The HTTP status and JSON body of the answer to `request` (a stream's first message). */
  answer(request: GatewayRequest): [number, unknown, boolean?];
} {
  const store = new Map<string, Stored>(); // by base64 key
  let revision = 1;
  let leaseId = 100;
  for (const key of seed) {
    revision++;
    store.set(b64(key), {
      value: b64(seededValue(key)),
      create: revision,
      mod: revision,
      version: 1,
      lease: "0",
    });
  }
  const header = (): Record<string, string> => ({
    cluster_id: "1",
    member_id: "2",
    revision: String(revision),
    raft_term: "3",
  });
  const inRange = (key: Buffer, from: Buffer, end: Buffer | undefined): boolean => {
    if (end === undefined || end.length === 0) return key.equals(from);
    if (Buffer.compare(key, from) < 0) return false;
    return (end.length === 1 && end[0] === 0) || Buffer.compare(key, end) < 0;
  };
  const range = (r: Record<string, unknown>): Record<string, unknown> => {
    const from = unb64(r.key);
    const end = r.range_end === undefined ? undefined : unb64(r.range_end);
    const kvs = [...store.entries()]
      .filter(([k]) => inRange(Buffer.from(k, "base64"), from, end))
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a, "base64"), Buffer.from(b, "base64")))
      .map(([key, s]) => ({
        key,
        value: s.value,
        create_revision: String(s.create),
        mod_revision: String(s.mod),
        version: String(s.version),
        ...(s.lease === "0" ? {} : { lease: s.lease }),
      }));
    return kvs.length === 0 ? {} : { kvs, count: String(kvs.length) };
  };
  const put = (r: Record<string, unknown>): Record<string, unknown> => {
    revision++;
    const key = String(r.key ?? "");
    const old = store.get(key);
    store.set(key, {
      value: String(r.value ?? ""),
      create: old?.create ?? revision,
      mod: revision,
      version: (old?.version ?? 0) + 1,
      lease: String(r.lease ?? "0"),
    });
    return {};
  };
  const answer = (req: GatewayRequest): [number, unknown, boolean?] => {
    const j = req.json;
    switch (req.path) {
      case "/v3/kv/range":
        return [200, { header: header(), ...range(j) }];
      case "/v3/kv/put":
        put(j);
        return [200, { header: header() }];
      case "/v3/kv/deleterange": {
        const from = unb64(j.key);
        const end = j.range_end === undefined ? undefined : unb64(j.range_end);
        let deleted = 0;
        for (const k of [...store.keys()]) {
          if (inRange(Buffer.from(k, "base64"), from, end)) {
            store.delete(k);
            deleted++;
          }
        }
        if (deleted > 0) revision++;
        return [200, { header: header(), ...(deleted ? { deleted: String(deleted) } : {}) }];
      }
      case "/v3/kv/txn": {
        const ops = (j.success as Record<string, Record<string, unknown>>[] | undefined) ?? [];
        const responses = ops.map((op) => {
          if (op.request_range) {
            return { response_range: { header: header(), ...range(op.request_range) } };
          }
          if (op.request_put) return { response_put: (put(op.request_put), { header: header() }) };
          return { response_delete_range: { header: header() } };
        });
        return [200, { header: header(), succeeded: true, responses }];
      }
      case "/v3/maintenance/status":
        return [200, { header: header(), version: "3.4.23", dbSize: "4096", leader: "2" }];
      case "/v3/lease/grant":
        return [200, { header: header(), ID: String(++leaseId), TTL: String(j.TTL ?? "10") }];
      case "/v3/lease/keepalive":
        return [200, { result: { header: header(), ID: String(j.ID), TTL: "10" } }];
      case "/v3/lease/revoke":
        return [200, { header: header() }];
      case "/v3/watch":
        return [200, { result: { header: header(), created: true } }, true];
      default:
        return [404, { error: "Not Found", code: 5, message: "Not Found" }];
    }
  };
  return {
    store,
    answer,
    parse(buffer: Uint8Array): { request: GatewayRequest; length: number } | undefined {
      const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const end = bytes.indexOf(CRLFCRLF);
      if (end === -1) return undefined;
      const head = bytes.subarray(0, end).toString("latin1").split("\r\n");
      const [method, path] = head[0].split(" ");
      let length = 0;
      for (const line of head.slice(1)) {
        const [name, value] = line.split(/:\s*/, 2);
        if (name.toLowerCase() === "content-length") length = Number(value);
      }
      if (bytes.length < end + 4 + length) return undefined;
      const body = bytes.subarray(end + 4, end + 4 + length).toString("utf8");
      let json: Record<string, unknown> = {};
      try {
        json = body ? JSON.parse(body) : {};
      } catch {
        json = {};
      }
      return { request: { method, path, json }, length: end + 4 + length };
    },
    respond(request: GatewayRequest): { bytes: Uint8Array } {
      const [status, body, stream] = answer(request);
      const text = JSON.stringify(body);
      if (stream) {
        // A watch: a chunked body that never ends, opened with the "created" message.
        const line = `${text}\n`;
        const size = Buffer.byteLength(line).toString(16);
        return {
          bytes: Buffer.from(
            `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${line}\r\n`,
          ),
        };
      }
      const reason = status === 200 ? "OK" : "Not Found";
      return {
        bytes: Buffer.from(
          `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${
            Buffer.byteLength(text)
          }\r\n\r\n${text}`,
        ),
      };
    },
  };
}

/** A well-framed HTTP 200 response with `body` (any text) as its JSON. */
export function httpResponse(body: string, extraHeaders = ""): Uint8Array {
  return Buffer.from(
    `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${extraHeaders}Content-Length: ${
      Buffer.byteLength(body)
    }\r\n\r\n${body}`,
  );
}

/** Base64 of a UTF-8 string, as the gateway sends keys and values. */
export { b64 };
