// Reading etcd's answers: JSON bodies, the first line of a dedicated call's stream, malformed
// answers as RemoteProtocolError (`sent: true`), and fingerprints that spot a repeated answer.

import { utf8Decode } from "../core/bytes.ts";
import { AbortedError, RemoteProtocolError, ServerError } from "../core/errors.ts";
import type { StreamQueue } from "../core/stream_queue.ts";
import { type EtcdError, etcdErrorFromJson } from "./errors.ts";
import type { HttpRequest, HttpResponse } from "./http1/codec.ts";

/** The decoder of a gateway answer: throws on a malformed one (any exception). */
export type Decode<T> = (json: Record<string, unknown>) => T;

/** The error for an answer to `path` that could not be decoded (`sent: true`: it was sent). */
export function invalidAnswer(path: string, error: unknown): RemoteProtocolError {
  if (error instanceof RemoteProtocolError && error.sent) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new RemoteProtocolError(`etcd sent an invalid answer to ${path}: ${why}`, {
    cause: error,
    sent: true,
  });
}

/** Reads the answer of a dedicated call: its first line, or the error it ended with. */
export async function collect<T>(
  path: string,
  stream: { items: StreamQueue<Uint8Array>; close: () => void },
  signal: AbortSignal | undefined,
  decode: Decode<T>,
): Promise<T> {
  const { items, close } = stream;
  const onAbort = (): void => close();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const lines: Uint8Array[] = [];
    try {
      for await (const line of items) lines.push(line);
    } catch (error) {
      if (signal?.aborted) {
        throw new AbortedError(`${path} was aborted`, { sent: true, cause: error });
      }
      throw error;
    }
    try {
      const json = lines.length > 0 ? parseJson(lines[0]) : {};
      if (json.error !== undefined) throw etcdErrorFromJson(json);
      const result = json.result ?? json;
      if (typeof result !== "object" || result === null) throw new TypeError("no result");
      return decode(result as Record<string, unknown>);
    } catch (error) {
      if (error instanceof ServerError) throw error;
      throw invalidAnswer(path, error);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    close();
  }
}

/**
 * Parses a JSON object body; anything else is a `RemoteProtocolError` (`sent: true`). A
 * `secret` body (it may carry a token) is not quoted in the error.
 */
export function parseJson(bytes: Uint8Array, secret = false): Record<string, unknown> {
  const json = jsonObject(bytes);
  if (json !== undefined) return json;
  const quoted = secret
    ? `(${bytes.length} bytes, not shown: it may hold a token)`
    : JSON.stringify(utf8Decode(bytes.subarray(0, 80)));
  throw new RemoteProtocolError(`etcd sent a body that is not a JSON object: ${quoted}`, {
    sent: true,
  });
}

/**
 * The body of an error answer (HTTP status not 200) as an object: the JSON the gateway sent,
 * else `{ message, code: 2 }` naming the status and quoting the start of the body (a proxy's
 * page, Go's `404 page not found`), so that the status decides and a non-JSON body is no
 * protocol error.
 */
export function errorJson(status: number, bytes: Uint8Array): Record<string, unknown> {
  const json = jsonObject(bytes);
  if (json !== undefined) return json;
  const text = utf8Decode(bytes.subarray(0, 200)).trim();
  return { message: `etcd answered HTTP ${status}${text ? `: ${text}` : ""}`, code: 2 };
}

/** The body parsed as a JSON object, or undefined when it is not one. */
export function jsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(utf8Decode(bytes));
    if (typeof json === "object" && json !== null && !Array.isArray(json)) {
      return json as Record<string, unknown>;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Status, length and an FNV-1a hash of an answer's body: equal for byte-identical answers. */
export function answerPrint(response: HttpResponse): string {
  const body = response.body;
  let hash = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) hash = Math.imul(hash ^ body[i], 0x01000193);
  return `${response.status} ${body.length} ${hash >>> 0}`;
}

/** Method, path and a hash of the body: equal for the same request. */
export function requestPrint(request: HttpRequest): string {
  const body = request.body ?? "";
  let hash = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) {
    const unit = typeof body === "string" ? body.charCodeAt(i) : body[i];
    hash = Math.imul(hash ^ unit, 0x01000193);
  }
  return `${request.method} ${request.path} ${body.length} ${hash >>> 0}`;
}

/** Thrown when the server refused the auth token: the channel fetches another and retries. */
export class Reauth extends Error {
  constructor(readonly error: EtcdError) {
    super(error.message);
  }
}

/**
 * Runs `decode` on an answer `driver` carried. A server error (or a token to renew) passes
 * through; anything else a malformed answer caused becomes a `RemoteProtocolError` with
 * `sent: true`, and the connection is dropped.
 */
export function checked<T>(
  driver: { destroy(error?: Error): void },
  path: string,
  decode: () => T,
): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof ServerError || error instanceof Reauth) throw error;
    const failure = invalidAnswer(path, error);
    driver.destroy(failure);
    throw failure;
  }
}
