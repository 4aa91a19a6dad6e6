// TextConnection: the sans-I/O machine for memcached's classic text protocol (get/gets/gat,
// set/add/replace/append/prepend/cas, incr/decr, touch, delete, flush_all, stats, version).

import { LocalProtocolError, RemoteProtocolError } from "../core/errors.ts";
import {
  checkDeleteTime,
  checkFlags,
  checkStatsGroup,
  checkTtl,
  checkU64,
  parseU64,
} from "./args.ts";
import type { MemcacheError } from "./errors.ts";
import { checkTextKey } from "./keys.ts";
import {
  errorFromTokens,
  latin1,
  LineConnection,
  type LineConnectionOptions,
  type LineEntry,
  parseCount,
  type ResponseUnit,
} from "./line_connection.ts";
import type { MemcacheItem, MemcacheReply, MemcacheRequest, MemcacheStatus } from "./types.ts";
import { requestName } from "./types.ts";

/** What kind of answer a text request gets. */
export type TextEntryKind =
  | "get"
  | "store"
  | "delete"
  | "counter"
  | "touch"
  | "ok"
  | "stats"
  | "version";

/** A text request in flight, with its parsing state. */
export interface TextEntry extends LineEntry {
  /** What kind of answer the request gets. */
  kind: TextEntryKind;
  /** Replies still expected: END lines for a get, status lines for stores and deletes. */
  expect: number;
  /** Items read so far, for a get. */
  items?: (MemcacheItem | null)[];
  /** Key (as sent, latin1) → positions in `items`. */
  positions?: Map<string, number[]>;
  /** Statuses read so far, per key. */
  statuses?: (MemcacheStatus | MemcacheError)[];
  /** Stats read so far. */
  stats?: Map<string, string>;
  /** The error the reply ended with. */
  error?: MemcacheError;
  /** A noop is a `version` whose answer is dropped. */
  noop?: boolean;
}

/** Keys per get line: long lines are split into several commands in one write. */
const KEYS_PER_GET = 100;

const STATUS: Record<string, MemcacheStatus> = {
  STORED: "stored",
  NOT_STORED: "notStored",
  EXISTS: "exists",
  NOT_FOUND: "notFound",
  DELETED: "deleted",
  TOUCHED: "touched",
};

/**
 * The text protocol machine, for servers and proxies without the meta protocol.
 *
 * Theory of operation (see {@link LineConnection} for ordering and deadlines): a get of many
 * keys is sent as `get` lines of up to 100 keys and is complete after as many `END` lines;
 * `VALUE` items are matched by the key they echo. Stores and deletes of many keys are that
 * many commands in one write, answered one status line each, in order. `noreply` is never
 * used, so every command is answered and errors name their command.
 *
 * @example
 * ```ts
 * import { TextConnection } from "@kvwire/kvwire/memcache";
 * const conn = new TextConnection();
 * conn.send({ op: "get", keys: [new TextEncoder().encode("k")] });
 * conn.pollTransmit(); // bytes of "get k\r\n"
 * conn.receive(new TextEncoder().encode("VALUE k 0 2\r\nhi\r\nEND\r\n"));
 * conn.nextEvent(); // { type: "reply", ... items: [{ value: "hi" bytes, flags: 0 }] }
 * ```
 */
export class TextConnection extends LineConnection<TextEntry> {
  /** Creates a machine; nothing is sent until the first request. */
  constructor(options: LineConnectionOptions = {}) {
    super(options);
  }

  /** Encodes a request into text commands and its entry. */
  protected encode(request: MemcacheRequest): TextEntry {
    const entry: TextEntry = {
      id: 0,
      name: requestName(request),
      start: 0,
      end: 0,
      settled: false,
      transmitted: false,
      kind: "ok",
      expect: 1,
      items: undefined,
      positions: undefined,
      statuses: undefined,
      stats: undefined,
      error: undefined,
      noop: undefined,
      result: undefined,
    };
    const w = this.outbox.writer;
    switch (request.op) {
      case "get": {
        const keys = request.keys;
        if (keys.length === 0) throw new RangeError("A get needs at least one key");
        for (const key of keys) checkTextKey(key);
        const touch = request.touch === undefined ? undefined : checkTtl(request.touch);
        const command = touch === undefined
          ? (request.cas ? "gets" : "get")
          : `${request.cas ? "gats" : "gat"} ${touch}`;
        entry.kind = "get";
        entry.items = new Array(keys.length).fill(null);
        entry.positions = new Map();
        keys.forEach((key, i) => {
          const name = latin1(key);
          const list = entry.positions!.get(name);
          if (list) list.push(i);
          else entry.positions!.set(name, [i]);
        });
        entry.expect = 0;
        for (let i = 0; i < keys.length; i += KEYS_PER_GET) {
          w.writeAscii(command);
          for (const key of keys.slice(i, i + KEYS_PER_GET)) w.writeAscii(" ").writeBytes(key);
          w.writeAscii("\r\n");
          entry.expect++;
        }
        break;
      }
      case "store": {
        const items = request.items;
        if (items.length === 0) throw new RangeError("A store needs at least one item");
        const heads = items.map((item) => {
          checkTextKey(item.key);
          if (!(item.value instanceof Uint8Array)) {
            throw new TypeError("A memcache value must be bytes at this layer");
          }
          let tail = ` ${checkFlags(item.flags)} ${checkTtl(item.ttl)} ${item.value.length}`;
          if (request.mode === "cas") {
            if (item.cas === undefined) throw new TypeError("A CAS store needs the cas token");
            tail += ` ${checkU64(item.cas, "CAS token")}`;
          }
          return tail;
        });
        entry.kind = "store";
        entry.expect = items.length;
        entry.statuses = [];
        items.forEach((item, i) => {
          w.writeAscii(`${request.mode} `).writeBytes(item.key).writeAscii(`${heads[i]}\r\n`);
          w.writeBytes(item.value).writeAscii("\r\n");
        });
        break;
      }
      case "delete": {
        if (request.keys.length === 0) throw new RangeError("A delete needs at least one key");
        for (const key of request.keys) checkTextKey(key);
        const time = checkDeleteTime(request.time, "text");
        const tail = time === 0 ? "\r\n" : ` ${time}\r\n`;
        entry.kind = "delete";
        entry.expect = request.keys.length;
        entry.statuses = [];
        for (const key of request.keys) w.writeAscii("delete ").writeBytes(key).writeAscii(tail);
        break;
      }
      case "incr":
      case "decr": {
        checkTextKey(request.key);
        const delta = checkU64(request.delta, "delta");
        if (request.initial !== undefined) {
          throw new LocalProtocolError(
            "The text protocol cannot create a missing counter; use the meta or binary protocol",
          );
        }
        entry.kind = "counter";
        w.writeAscii(`${request.op} `).writeBytes(request.key).writeAscii(` ${delta}\r\n`);
        break;
      }
      case "touch": {
        checkTextKey(request.key);
        const ttl = checkTtl(request.ttl);
        entry.kind = "touch";
        w.writeAscii("touch ").writeBytes(request.key).writeAscii(` ${ttl}\r\n`);
        break;
      }
      case "flush": {
        const delay = request.delay ? ` ${checkTtl(request.delay, "flush delay")}` : "";
        w.writeAscii(`flush_all${delay}\r\n`);
        break;
      }
      case "stats": {
        const group = checkStatsGroup(request.group);
        entry.kind = "stats";
        entry.stats = new Map();
        w.writeAscii(group ? `stats ${group}\r\n` : "stats\r\n");
        break;
      }
      case "version":
      case "noop":
        entry.kind = "version";
        entry.noop = request.op === "noop";
        w.writeAscii("version\r\n");
        break;
      case "meta":
        throw new LocalProtocolError("Meta commands need the meta protocol");
      default:
        throw new TypeError(`Unknown memcache request ${JSON.stringify(request)}`);
    }
    return entry;
  }

  /** Returns the data block length a line announces, or -1 for none. */
  protected dataLength(tokens: string[]): number {
    if (tokens[0] !== "VALUE") return -1;
    const size = parseCount(tokens[3]);
    if (size < 0) throw new RemoteProtocolError(`Bad VALUE line "${tokens.join(" ")}"`);
    return size;
  }

  /** Applies a response unit to its entry and returns true when the reply is complete. */
  protected consume(entry: TextEntry, unit: ResponseUnit): boolean {
    const { tokens } = unit;
    const code = tokens[0];
    const error = errorFromTokens(tokens);
    switch (entry.kind) {
      case "get":
        if (code === "VALUE") {
          const positions = entry.positions!.get(tokens[1]);
          const flags = parseCount(tokens[2]);
          if (!positions || flags < 0) throw unexpected(entry, tokens);
          const item: MemcacheItem = { value: unit.data!, flags };
          if (tokens[4] !== undefined) {
            const cas = parseU64(tokens[4]);
            if (cas === undefined) throw unexpected(entry, tokens);
            item.cas = cas;
          }
          for (const i of positions) entry.items![i] = item;
          return false;
        }
        if (code !== "END" && !error) throw unexpected(entry, tokens);
        if (error) entry.error ??= error;
        if (--entry.expect > 0) return false;
        entry.result = entry.error ?? { type: "items", items: entry.items! };
        return true;
      case "store":
      case "delete": {
        const status = STATUS[code];
        if (!error && (status === undefined || status === "touched")) {
          throw unexpected(entry, tokens);
        }
        entry.statuses!.push(error ?? status);
        if (entry.statuses!.length < entry.expect) return false;
        const single = entry.expect === 1 ? entry.statuses![0] : undefined;
        entry.result = typeof single === "object"
          ? single
          : { type: "statuses", statuses: entry.statuses! };
        return true;
      }
      case "stats":
        if (code === "STAT" && tokens.length >= 2) {
          entry.stats!.set(tokens[1], tokens.slice(2).join(" "));
          return false;
        }
        if (code !== "END" && code !== "RESET" && code !== "OK" && !error) {
          throw unexpected(entry, tokens);
        }
        entry.result = error ?? { type: "stats", stats: entry.stats! };
        return true;
      default:
        entry.result = error ?? single(entry, tokens);
        return true;
    }
  }
}

function single(entry: TextEntry, tokens: string[]): MemcacheReply {
  const code = tokens[0];
  switch (entry.kind) {
    case "counter": {
      if (code === "NOT_FOUND") return { type: "counter", value: null };
      const value = tokens.length === 1 ? parseU64(code) : undefined;
      if (value !== undefined) return { type: "counter", value };
      break;
    }
    case "touch":
      if (code === "TOUCHED") return { type: "statuses", statuses: ["touched"] };
      if (code === "NOT_FOUND") return { type: "statuses", statuses: ["notFound"] };
      break;
    case "ok":
      if (code === "OK") return { type: "ok" };
      break;
    case "version":
      if (code === "VERSION") {
        return entry.noop
          ? { type: "ok" }
          : { type: "version", version: tokens.slice(1).join(" ") };
      }
      break;
  }
  throw unexpected(entry, tokens);
}

function unexpected(entry: TextEntry, tokens: string[]): RemoteProtocolError {
  const line = tokens.join(" ").slice(0, 100);
  return new RemoteProtocolError(`Unexpected memcache reply "${line}" to ${entry.name}`);
}
