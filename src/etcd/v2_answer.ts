// Reading the v2 API's answers: the HTTP status first (a redirect, an error body, or a 404 of a
// server without the v2 API), then the JSON of a keys API result as V2Result nodes.

import { utf8Decode } from "../core/bytes.ts";
import { redactUrl } from "../core/url.ts";
import { errorJson, jsonObject, parseJson } from "./answer.ts";
import { EtcdV2DisabledError, EtcdV2Error, EtcdV2RedirectError } from "./errors.ts";
import type { HttpRequest, HttpResponse } from "./http1/codec.ts";
import { list, num } from "./kv.ts";
import type { V2Node, V2Result } from "./v2_types.ts";

/** The HTTP statuses of a redirect the v2 client may follow (the request is re-sent as is). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 307, 308]);

/**
 * The body of a v2 answer once its status was checked: a redirect throws
 * `EtcdV2RedirectError` (its `Location` with it), an error status the `EtcdV2Error` of its
 * body, `EtcdV2DisabledError` for a bare 404 (no v2 API), else an `EtcdV2Error` naming the
 * status; a 2xx body is returned as it is.
 */
export function v2Body(request: HttpRequest, response: HttpResponse): Uint8Array {
  if (response.status >= 200 && response.status < 300) return response.body;
  const what = `${request.method} ${request.path.split("?")[0]}`;
  if (REDIRECT_STATUSES.has(response.status)) {
    const location = response.headers["location"] ?? "";
    throw new EtcdV2RedirectError(
      `${what} was redirected (HTTP ${response.status}) to ${redactUrl(location) || "no Location"}`,
      response.status,
      location,
    );
  }
  const json = jsonObject(response.body);
  if (json?.errorCode !== undefined) {
    throw EtcdV2Error.from(json as Parameters<typeof EtcdV2Error.from>[0]);
  }
  if (response.status === 404) throw new EtcdV2DisabledError(what);
  const message = String(errorJson(response.status, response.body).message);
  throw new EtcdV2Error(`${message} (${what})`, response.status);
}

/** The JSON object of a v2 answer, its status checked by {@link v2Body}. */
export function v2Json(request: HttpRequest, response: HttpResponse): Record<string, unknown> {
  return parseJson(v2Body(request, response));
}

/** The lines of a comma-separated v2 answer (`/v2/machines`), its status checked. */
export function v2List(request: HttpRequest, response: HttpResponse): string[] {
  return utf8Decode(v2Body(request, response)).split(",").map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Decodes a keys API answer; an error answer throws its `EtcdV2Error`. */
export function toResult(request: HttpRequest, response: HttpResponse): V2Result {
  const json = v2Json(request, response);
  if (json.errorCode !== undefined) {
    throw EtcdV2Error.from(json as Parameters<typeof EtcdV2Error.from>[0]);
  }
  const node = toNode((json.node ?? {}) as Record<string, unknown>);
  const result: V2Result = {
    ...node,
    action: String(json.action),
    etcdIndex: num(response.headers["x-etcd-index"]),
    children: leaves(node),
  };
  if (json.prevNode) result.prevNode = toNode(json.prevNode as Record<string, unknown>);
  return result;
}

function toNode(json: Record<string, unknown>): V2Node {
  const node: V2Node = {
    key: String(json.key ?? "/"),
    dir: json.dir === true,
    createdIndex: num(json.createdIndex),
    modifiedIndex: num(json.modifiedIndex),
    nodes: list<Record<string, unknown>>(json.nodes).map(toNode),
  };
  if (json.value !== undefined) node.value = String(json.value);
  if (json.ttl !== undefined) node.ttl = num(json.ttl);
  if (json.expiration !== undefined) node.expiration = String(json.expiration);
  return node;
}

function leaves(node: V2Node): V2Node[] {
  if (!node.dir) return [node];
  return node.nodes.flatMap(leaves);
}
