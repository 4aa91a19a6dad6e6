// A command surface that runs no server: each typed method's arguments are encoded as they
// would be written, and its reply is shaped from recorded RESP bytes (for commands newer than
// the redis-server in CI). Error replies reject without shaping, as on a client.

import { RedisCommands } from "../../src/redis/commands/mod.ts";
import type { Transform } from "../../src/redis/commands/transforms.ts";
import { encodeCommand, type RedisArg } from "../../src/redis/resp_encoder.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { NEED_MORE, RespDecoder } from "../../src/redis/resp_decoder.ts";
import type { RespValue } from "../../src/redis/resp_types.ts";
import { parseRequest } from "./_hostile.ts";

/**
 * Typed commands answered from recorded reply bytes; `written` holds each command as the
 * request parser of the hostile-server kit reads its encoded bytes back.
 *
 * @example
 * ```ts
 * const r = new Recorded<string>(true, "*1\r\n:1\r\n");
 * await r.hExpire("h", 60, ["f"]); // [1]
 * r.written; // [["HEXPIRE", "h", "60", "FIELDS", "1", "f"]]
 * ```
 */
export class Recorded<V> extends RedisCommands<V, "promise"> {
  readonly written: string[][] = [];
  readonly #decode: boolean;
  readonly #replies: string[];

  constructor(decode: boolean, ...replies: string[]) {
    super();
    this.#decode = decode;
    this.#replies = replies;
  }

  protected call<T>(args: RedisArg[], transform: Transform<T>): Promise<T> {
    const parsed = parseRequest(encodeCommand(args));
    if (!parsed) throw new Error("the command did not encode to one whole request");
    this.written.push(parsed.request);
    const bytes = this.#replies.shift();
    if (bytes === undefined) throw new Error(`no recorded reply left for ${args[0]}`);
    const decoder = new RespDecoder();
    decoder.push(new TextEncoder().encode(bytes));
    const reply = decoder.next();
    if (reply === NEED_MORE) throw new Error(`incomplete recorded reply ${JSON.stringify(bytes)}`);
    if (reply instanceof RedisError) return Promise.reject(reply); // as clients do: not shaped
    return Promise.resolve().then(() => transform(reply as RespValue, { decode: this.#decode }));
  }
}
