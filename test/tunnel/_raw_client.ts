// A hand-driven WebSocket client for the relay tests: raw upgrade requests and masked frames
// of any shape (unfinished fragments, empty frames, ping floods), over a plain TCP socket.

import * as net from "node:net";
import { encodeFrame, Opcode, WebSocketFrameDecoder } from "../../src/tunnel/ws_frames.ts";

const MASK = new Uint8Array([1, 2, 3, 4]);

/**
 * A client frame (masked), final unless `fin` is false.
 *
 * @example
 * ```ts
 * const ping = clientFrame(Opcode.Ping, new Uint8Array(0));
 * ```
 */
export function clientFrame(opcode: Opcode, payload: Uint8Array, fin = true): Uint8Array {
  const frame = encodeFrame(opcode, payload, MASK);
  if (!fin) frame[0] &= 0x7f;
  return frame;
}

/**
 * `count` copies of `frame` in one buffer.
 *
 * @example
 * ```ts
 * const flood = repeat(clientFrame(Opcode.Ping, new Uint8Array(0)), 1000);
 * ```
 */
export function repeat(frame: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(frame.length * count);
  for (let i = 0; i < count; i++) out.set(frame, i * frame.length);
  return out;
}

/** A raw connection to a relay that completed the upgrade. */
export interface RawTunnel {
  readonly socket: net.Socket;
  /** Resolves once the relay closed the TCP connection. */
  readonly closed: Promise<void>;
  /** Events decoded from the relay (text, data, pong, close), once `decode` was asked for. */
  readonly events: { type: string; text?: string; code?: number; bytes?: Uint8Array }[];
}

/**
 * Opens a TCP connection to the relay, sends an upgrade for `target` (with `token` as a
 * subprotocol when given; asking for `window` bytes of credit) and resolves once the relay
 * answered 101. With `decode`, frames the relay sends are decoded into `events`; without it,
 * the socket is left paused (never read).
 *
 * @example
 * ```ts
 * const t = await rawTunnel(port, "127.0.0.1:6379", { decode: true });
 * ```
 */
export function rawTunnel(
  port: number,
  target: string,
  options: { token?: string; decode?: boolean; window?: number } = {},
): Promise<RawTunnel> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const events: RawTunnel["events"] = [];
  const protocols = [
    "kvwire.tunnel.v1",
    ...(options.token ? [`kvwire.auth.${options.token}`] : []),
  ];
  socket.write(
    `GET /?target=${target}${
      options.window ? `&window=${options.window}` : ""
    } HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocols.join(", ")}\r\n\r\n`,
  );
  return new Promise((resolve, reject) => {
    let head = new Uint8Array(0);
    const decoder = new WebSocketFrameDecoder({ maxMessageSize: 1 << 30, requireMask: false });
    const onData = (data: Uint8Array): void => {
      const joined = new Uint8Array(head.length + data.length);
      joined.set(head);
      joined.set(data, head.length);
      head = joined;
      const text = new TextDecoder().decode(head);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      if (!text.startsWith("HTTP/1.1 101 ")) {
        reject(new Error(`No upgrade: ${text.split("\r\n")[0]}`));
        return;
      }
      if (options.decode) {
        const take = (bytes: Uint8Array): void => {
          decoder.push(bytes);
          for (let e = decoder.next(); e; e = decoder.next()) events.push(e);
        };
        socket.on("data", (bytes: Uint8Array) => take(new Uint8Array(bytes)));
        take(head.subarray(new TextEncoder().encode(text.slice(0, end + 4)).length));
      } else {
        socket.pause();
      }
      resolve({ socket, closed, events });
    };
    socket.on("data", onData);
    closed.then(() => reject(new Error("The relay closed before the upgrade")));
  });
}

/**
 * Writes `bytes` in pieces of `piece` bytes, each after the previous drained, until all are
 * written, the socket closes or `deadline` (ms since the epoch) passes. Returns bytes written.
 *
 * @example
 * ```ts
 * const written = await pump(t.socket, flood, 64 * 1024, Date.now() + 2000);
 * ```
 */
export async function pump(
  socket: net.Socket,
  bytes: Uint8Array,
  piece: number,
  deadline: number,
): Promise<number> {
  let offset = 0;
  while (offset < bytes.length && !socket.destroyed && Date.now() < deadline) {
    const chunk = bytes.subarray(offset, offset + piece);
    offset += chunk.length;
    if (!socket.write(chunk)) {
      const left = deadline - Date.now();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, left));
        const done = (): void => {
          clearTimeout(timer);
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.once("drain", done);
        socket.once("close", done);
      });
    }
  }
  return offset;
}

export { Opcode };
