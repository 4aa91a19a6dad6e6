// A gRPC face for the tiny gateway of _hostile.ts: an in-memory HTTP/2 peer (FakePeer's frames)
// that decodes each unary call's protobuf into the gateway's JSON, asks the gateway, and sends
// its JSON answer back as protobuf; the first answer of the first connection may be given bytes.

import { concatBytes } from "../../src/core/bytes.ts";
import type { Connect, Transport } from "../../src/core/transport.ts";
import { jsonFromProto, protoFromJson } from "../../src/etcd/grpc/json.ts";
import { GRPC_METHODS } from "../../src/etcd/grpc/methods.ts";
import { decodeProto, encodeProto } from "../../src/etcd/proto/wire.ts";
import { encodeGrpcMessage } from "../../src/grpc/framing.ts";
import { FrameType } from "../../src/http2/frames.ts";
import { memoryConnector } from "../../transports/memory.ts";
import { gatewayPathOf } from "../_helpers/request_log.ts";
import { FakePeer } from "../http2/_peer.ts";
import type { etcdGateway } from "./_hostile.ts";

const ANSWER_HEADERS: [string, string][] = [[":status", "200"], [
  "content-type",
  "application/grpc",
]];

/**
 * A connector to `gateway` over gRPC: each connection is a FakePeer answering unary calls
 * (gRPC status 0, or the gateway's error code and message when it answers an error). When
 * `first` is given, it is the message of the first answer on connection 0, whatever was asked.
 *
 * @example
 * ```ts
 * const fake = grpcGateway(etcdGateway(["k1"]));
 * await using etcd = new EtcdClient({ protocol: "grpc", connect: fake.connect });
 * await etcd.getString("k1"); // "value-of-k1"
 * ```
 */
export function grpcGateway(
  gateway: ReturnType<typeof etcdGateway>,
  first?: Uint8Array,
): { connect: Connect; accepted: () => number } {
  let accepted = 0;
  const connect = memoryConnector((server: Transport) => {
    const index = accepted++;
    const peer = new FakePeer();
    const calls = new Map<number, { path: string; data: Uint8Array[] }>();
    let answered = 0;
    const reply = (streamId: number, message: Uint8Array): Uint8Array =>
      concatBytes([
        peer.headers(streamId, ANSWER_HEADERS),
        peer.data(streamId, encodeGrpcMessage(message)),
        peer.headers(streamId, [["grpc-status", "0"]], true),
      ]);
    const answer = (streamId: number): Uint8Array => {
      const call = calls.get(streamId)!;
      calls.delete(streamId);
      if (index === 0 && answered++ === 0 && first !== undefined) return reply(streamId, first);
      const path = gatewayPathOf(call.path);
      const method = GRPC_METHODS[path];
      const request = concatBytes(call.data).subarray(5); // one message: its 5-byte prefix off
      const json = method
        ? jsonFromProto(method.request, decodeProto(method.request, request))
        : {};
      const [status, body] = gateway.answer({ method: "POST", path, json });
      if (status !== 200 || !method) {
        const { code, error } = body as { code?: number; error?: string };
        return peer.headers(streamId, [
          ...ANSWER_HEADERS,
          ["grpc-status", String(code ?? 2)],
          ["grpc-message", encodeURIComponent(String(error))],
        ], true);
      }
      return reply(
        streamId,
        encodeProto(method.response, protoFromJson(method.response, body as never)),
      );
    };
    void (async () => {
      server.write(peer.settings());
      for (let chunk; (chunk = await server.read()) !== null;) {
        for (const frame of peer.read(chunk)) {
          if (frame.type === FrameType.Settings && !(frame.flags & 1)) {
            server.write(peer.settings([], true));
          }
          if (frame.headers) {
            const path = frame.headers.find(([name]) => name === ":path")?.[1] ?? "";
            calls.set(frame.streamId, { path, data: [] });
          }
          if (frame.type === FrameType.Data) calls.get(frame.streamId)?.data.push(frame.payload);
          const ends = frame.type === FrameType.Data || frame.type === FrameType.Headers;
          if (ends && frame.flags & 1 && calls.has(frame.streamId)) {
            server.write(answer(frame.streamId));
          }
        }
      }
    })().catch(() => {});
  });
  return { connect, accepted: () => accepted };
}
