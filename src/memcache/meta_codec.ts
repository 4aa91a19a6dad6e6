// Encoding and decoding pieces of the meta protocol (memcached 1.6 doc/protocol.txt "Meta
// Commands"): keys (base64 with `b` for binary ones), command tails, reply flags.

import type { ByteWriter } from "../core/bytes.ts";
import { RemoteProtocolError } from "../core/errors.ts";
import { checkFlags, checkTtl, checkU64, parseU64 } from "./args.ts";
import { base64Encode, checkKeyLength, isTextSafe, MAX_KEY_LENGTH } from "./keys.ts";
import { parseCount } from "./line_connection.ts";
import type { MemcacheItem, MetaCommand, MetaResponse, StoreItem } from "./types.ts";

/** A key ready for a command line: as is, or base64 with the `b` flag. */
export type PreparedKey = Uint8Array | string;

const STORE_MODE: Record<string, string> = {
  set: "",
  cas: "",
  add: " ME",
  replace: " MR",
  append: " MA",
  prepend: " MP",
};

const FLAG_TOKEN = /^[A-Za-z][\x21-\x7e]*$/;

/**
 * The index carried by an `O<index>` reply flag at or after token `from`, if any.
 *
 * @example
 * ```ts
 * import { findOpaque } from "@kvwire/kvwire/memcache";
 * findOpaque(["VA", "2", "f0", "O7"], 2); // 7
 * ```
 */
export function findOpaque(tokens: string[], from: number): number | undefined {
  for (let i = from; i < tokens.length; i++) {
    if (tokens[i].charCodeAt(0) === 79 /* O */) {
      const index = parseCount(tokens[i], 1);
      if (index < 0) throw new RemoteProtocolError(`Bad meta opaque "${tokens[i]}"`);
      return index;
    }
  }
  return undefined;
}

/**
 * An item from a `VA` reply's flags (`f` client flags, `c` CAS) and data block.
 *
 * @example
 * ```ts
 * import { itemFrom } from "@kvwire/kvwire/memcache";
 * itemFrom(["VA", "1", "f5", "c9"], new Uint8Array([120])); // { value, flags: 5, cas: 9n }
 * ```
 */
export function itemFrom(tokens: string[], value: Uint8Array): MemcacheItem {
  const item: MemcacheItem = { value, flags: 0 };
  for (let i = 2; i < tokens.length; i++) {
    const token = tokens[i];
    const flag = token.charCodeAt(0);
    if (flag === 102 /* f */) {
      item.flags = parseCount(token, 1);
      if (item.flags < 0) throw new RemoteProtocolError(`Bad meta client flags "${token}"`);
    } else if (flag === 99 /* c */) {
      const cas = parseU64(token.slice(1));
      if (cas === undefined) throw new RemoteProtocolError(`Bad meta CAS token "${token}"`);
      item.cas = cas;
    }
  }
  return item;
}

/**
 * A raw meta reply with its common flags decoded (`c`, `f`, `t`, `W`, `X`, `Z`, `ME` fields).
 *
 * @example
 * ```ts
 * import { metaResponse } from "@kvwire/kvwire/memcache";
 * metaResponse(["HD", "W", "t30"], undefined); // { code: "HD", win: true, ttl: 30, ... }
 * ```
 */
export function metaResponse(tokens: string[], value: Uint8Array | undefined): MetaResponse {
  const code = tokens[0];
  const response: MetaResponse = {
    code,
    flags: [],
    win: false,
    stale: false,
    alreadyWon: false,
  };
  if (value) response.value = value;
  if (code === "ME") {
    response.debug = {};
    for (const token of tokens.slice(2)) {
      const eq = token.indexOf("=");
      if (eq > 0) response.debug[token.slice(0, eq)] = token.slice(eq + 1);
    }
    return response;
  }
  for (const token of tokens.slice(code === "VA" ? 2 : 1)) {
    const rest = token.slice(1);
    switch (token[0]) {
      case "O":
        continue;
      case "c":
        response.cas = parseU64(rest);
        break;
      case "f":
        response.clientFlags = Number(rest);
        break;
      case "t":
        response.ttl = Number(rest);
        break;
      case "W":
        response.win = true;
        break;
      case "X":
        response.stale = true;
        break;
      case "Z":
        response.alreadyWon = true;
        break;
    }
    response.flags.push(token);
  }
  return response;
}

/**
 * Validates a key for a meta command line: as it is when text-safe, else base64 (≤ 250 chars).
 *
 * @example
 * ```ts
 * import { prepareKey } from "@kvwire/kvwire/memcache";
 * prepareKey(new Uint8Array([0, 255])); // "AP8="
 * ```
 */
export function prepareKey(key: Uint8Array): PreparedKey {
  if (!(key instanceof Uint8Array)) throw new TypeError("A memcache key must be bytes here");
  checkKeyLength(key);
  if (isTextSafe(key)) return key;
  const encoded = base64Encode(key);
  if (encoded.length > MAX_KEY_LENGTH) {
    throw new RangeError(
      `Binary memcache key of ${key.length} bytes is ${encoded.length} characters in base64; ` +
        `the meta protocol allows ${MAX_KEY_LENGTH} (186 bytes)`,
    );
  }
  return encoded;
}

/**
 * {@link prepareKey} for each key; at least one.
 *
 * @example
 * ```ts
 * import { prepareKeys } from "@kvwire/kvwire/memcache";
 * prepareKeys([new TextEncoder().encode("a")]).length; // 1
 * ```
 */
export function prepareKeys(keys: readonly Uint8Array[]): PreparedKey[] {
  if (keys.length === 0) throw new RangeError("A memcache request needs at least one key");
  return keys.map(prepareKey);
}

/**
 * Writes a prepared key.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "@kvwire/kvwire";
 * import { writeKey } from "@kvwire/kvwire/memcache";
 * writeKey(new ByteWriter(), "AP8=");
 * ```
 */
export function writeKey(w: ByteWriter, key: PreparedKey): void {
  if (typeof key === "string") w.writeAscii(key);
  else w.writeBytes(key);
}

/**
 * The ` b` flag a base64 key needs, or nothing.
 *
 * @example
 * ```ts
 * import { base64Flag } from "@kvwire/kvwire/memcache";
 * base64Flag("AP8="); // " b"
 * ```
 */
export function base64Flag(key: PreparedKey): string {
  return typeof key === "string" ? " b" : "";
}

/**
 * Validates a store item and returns its key and the flags after the data length
 * (`F`, `T`, `C`, mode `M`).
 *
 * @example
 * ```ts
 * import { storeHead } from "@kvwire/kvwire/memcache";
 * storeHead({ key: new TextEncoder().encode("k"), value: new Uint8Array(1), ttl: 9 }, "add"); // { key, rest: " T9 ME" }
 * ```
 */
export function storeHead(item: StoreItem, mode: string): { key: PreparedKey; rest: string } {
  const key = prepareKey(item.key);
  if (!(item.value instanceof Uint8Array)) {
    throw new TypeError("A memcache value must be bytes at this layer");
  }
  const flags = checkFlags(item.flags);
  const ttl = checkTtl(item.ttl);
  let rest = "";
  if (flags !== 0) rest += ` F${flags}`;
  if (ttl !== 0) rest += ` T${ttl}`;
  if (mode === "cas") {
    if (item.cas === undefined) throw new TypeError("A CAS store needs the item's cas token");
    rest += ` C${checkU64(item.cas, "CAS token")}`;
  } else if (item.cas !== undefined) rest += ` C${checkU64(item.cas, "CAS token")}`;
  return { key, rest: rest + (STORE_MODE[mode] ?? "") };
}

/**
 * Validates a raw meta command (the `O` flag is reserved; a base64 key gets `b` once).
 *
 * @example
 * ```ts
 * import { metaLine } from "@kvwire/kvwire/memcache";
 * metaLine({ cmd: "md", key: new TextEncoder().encode("k"), flags: ["I"] }); // { cmd: "md", rest: " I", ... }
 * ```
 */
export function metaLine(command: MetaCommand): {
  cmd: string;
  key: PreparedKey;
  rest: string;
  value?: Uint8Array;
} {
  if (!["mg", "ms", "md", "ma", "me"].includes(command.cmd)) {
    throw new TypeError(`Unknown meta command ${JSON.stringify(command.cmd)}`);
  }
  const flags = command.flags ?? [];
  for (const flag of flags) {
    if (typeof flag !== "string" || !FLAG_TOKEN.test(flag)) {
      throw new TypeError(`Invalid meta flag ${JSON.stringify(flag)}`);
    }
    if (flag[0] === "O") throw new TypeError("The meta opaque flag O is reserved by kvwire");
  }
  const key = prepareKey(command.key);
  let rest = "";
  let value: Uint8Array | undefined;
  if (command.cmd === "ms") {
    if (!(command.value instanceof Uint8Array)) throw new TypeError("ms needs a Uint8Array value");
    value = command.value;
  } else if (command.value !== undefined) {
    throw new TypeError(`Only ms takes a value, not ${command.cmd}`);
  }
  for (const flag of flags) if (!(flag === "b" && typeof key === "string")) rest += ` ${flag}`;
  return { cmd: command.cmd, key, rest, value };
}
