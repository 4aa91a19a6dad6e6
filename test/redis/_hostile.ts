// A RESP request parser and a tiny in-memory Redis responder for the hostile-server kit, written
// from the RESP spec independently of src/redis (HELLO, AUTH, PING, SELECT, CLIENT, ECHO, GET...).
import type { HostileProtocol, HostileSession } from "../_helpers/hostile_server.ts";

const CR = 13;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads `<type><decimal>\r\n` at `at`: the number and the index after the LF, or undefined. */
function header(buffer: Uint8Array, at: number, type: string): [number, number] | undefined {
  if (at >= buffer.length) return undefined;
  if (buffer[at] !== type.charCodeAt(0)) throw new Error(`expected ${type} at ${at}`);
  const cr = buffer.indexOf(CR, at);
  if (cr === -1 || cr + 1 >= buffer.length) return undefined;
  return [Number(decoder.decode(buffer.subarray(at + 1, cr))), cr + 2];
}

/**
 * Splits one command (`*N` of `$len` bulk strings) off the front of `buffer`.
 *
 * @example
 * ```ts
 * parseRequest(new TextEncoder().encode("*1\r\n$4\r\nPING\r\n")); // { request: ["PING"], length: 14 }
 * ```
 */
export function parseRequest(
  buffer: Uint8Array,
): { request: string[]; length: number } | undefined {
  const top = header(buffer, 0, "*");
  if (!top) return undefined;
  let [count, at] = top;
  const request: string[] = [];
  while (count-- > 0) {
    const bulk = header(buffer, at, "$");
    if (!bulk) return undefined;
    const [len, start] = bulk;
    if (start + len + 2 > buffer.length) return undefined;
    request.push(decoder.decode(buffer.subarray(start, start + len)));
    at = start + len + 2;
  }
  return { request, length: at };
}

const bulk = (text: string): string => `$${encoder.encode(text).length}\r\n${text}\r\n`;

/** The value GET answers for a key never set: derived from the key, so a reply proves its key. */
export function defaultValue(key: string): string {
  return `value-of:${key}`;
}

/**
 * The Redis side of the kit: HELLO (RESP3 for the session), AUTH, SELECT, CLIENT and ECHO (the
 * client's ready check) are handshake steps; PING, GET, SET, INCR and DEL are requests. The store
 * is shared by all sessions, so a reconnected client sees earlier writes. `hasHandshake: false`
 * makes a presend go out at accept, before the handshake.
 *
 * @example
 * ```ts
 * const server = await startHostileServer(redisHostileProtocol());
 * ```
 */
export function redisHostileProtocol(
  options: { hasHandshake?: boolean } = {},
): HostileProtocol<string[]> {
  const store = new Map<string, string>();
  const respond = (
    request: string[],
    session: HostileSession,
  ): { bytes: Uint8Array; handshake?: boolean } => {
    const [name = "", ...args] = request;
    const resp3 = session.state.get("resp3") === true;
    const out = (text: string, handshake = false) => ({ bytes: encoder.encode(text), handshake });
    switch (name.toUpperCase()) {
      case "HELLO":
        if (args[0] === "3") session.state.set("resp3", true);
        return out(
          args[0] === "3"
            ? "%3\r\n+server\r\n+redis\r\n+version\r\n+7.0.0\r\n+proto\r\n:3\r\n"
            : `*6\r\n${bulk("server")}${bulk("redis")}${bulk("version")}${bulk("7.0.0")}` +
              `${bulk("proto")}:2\r\n`,
          true,
        );
      case "AUTH":
      case "SELECT":
      case "CLIENT":
        return out("+OK\r\n", true);
      case "ECHO":
        return out(bulk(args[0] ?? ""), true);
      case "PING":
        return out("+PONG\r\n");
      case "GET": {
        const value = store.get(args[0]) ?? defaultValue(args[0]);
        return out(bulk(value));
      }
      case "SET":
        store.set(args[0], args[1]);
        return out("+OK\r\n");
      case "INCR": {
        const next = BigInt(store.get(args[0]) ?? "0") + 1n;
        store.set(args[0], String(next));
        return out(`:${next}\r\n`);
      }
      case "DEL": {
        let n = 0;
        for (const key of args) if (store.delete(key)) n++;
        return out(`:${n}\r\n`);
      }
      default:
        return out(
          resp3
            ? `!${`ERR unknown ${name}`.length}\r\nERR unknown ${name}\r\n`
            : `-ERR unknown ${name}\r\n`,
        );
    }
  };
  return { parse: parseRequest, respond, hasHandshake: options.hasHandshake ?? true };
}
