// MetaConnection: the sans-I/O machine for memcached's meta protocol (mg/ms/md/ma/mn/me, in
// memcached 1.6 doc/protocol.txt "Meta Commands"), plus the text commands it mixes with.

import { RemoteProtocolError } from "../core/errors.ts";
import { checkDeleteTime, checkStatsGroup, checkTtl, checkU64, parseU64 } from "./args.ts";
import { MemcacheError } from "./errors.ts";
import {
  base64Flag,
  findOpaque,
  itemFrom,
  metaLine,
  metaResponse,
  prepareKey,
  prepareKeys,
  storeHead,
  writeKey,
} from "./meta_codec.ts";
import {
  errorFromTokens,
  latin1,
  LineConnection,
  type LineConnectionOptions,
  type LineEntry,
  parseCount,
  type ResponseUnit,
} from "./line_connection.ts";
import {
  type MemcacheItem,
  type MemcacheReply,
  type MemcacheRequest,
  type MemcacheStatus,
  type MetaResponse,
  requestName,
} from "./types.ts";

/** Options of a {@link MetaConnection}. */
export interface MetaConnectionOptions extends LineConnectionOptions {
  /**
   * The opaque of the first command. Default random, so that bytes a server sends on a new
   * connection before any request (a stale reply) cannot pass for the first reply.
   */
  firstOpaque?: number;
}

/** What kind of answer a meta request gets. */
export type MetaEntryKind =
  | "get"
  | "store"
  | "delete"
  | "counter"
  | "touch"
  | "ok"
  | "stats"
  | "version"
  | "noop"
  | "meta";

/** A meta request in flight, with its parsing state. */
export interface MetaEntry extends LineEntry {
  /** What kind of answer the request gets. */
  kind: MetaEntryKind;
  /** True when the commands end with `mn` and the reply is complete at `MN`. */
  batch: boolean;
  /** The command an error line (it carries no opaque) is given to. */
  next: number;
  /** The opaque of the first command; command `i` carries `O<opaque + i>`. */
  opaque: number;
  /** Per raw `me` command, the key its `ME` reply must echo (it carries no opaque). */
  echoes?: (string | undefined)[];
  /** Items read so far, for a get. */
  items?: (MemcacheItem | null)[];
  /** Statuses read so far, per key. */
  statuses?: (MemcacheStatus | MemcacheError | undefined)[];
  /** Responses read so far, for raw meta commands. */
  responses?: (MetaResponse | MemcacheError | null)[];
  /** Stats read so far. */
  stats?: Map<string, string>;
  /** The error the reply ended with. */
  error?: MemcacheError;
}

const STATUS: Record<string, MemcacheStatus> = {
  HD: "stored",
  NS: "notStored",
  EX: "exists",
  NF: "notFound",
};

/**
 * The meta protocol machine. Feed it bytes, pull events and bytes.
 *
 * Theory of operation (see {@link LineConnection} for ordering and deadlines). Proof of
 * ownership: every meta command carries an opaque `O<n>`, `n` from a per-connection counter,
 * and every reply but an error line must echo the one its request is owed (`me`, which
 * echoes no opaque, must echo its key); anything else (a reply to a timed-out request that
 * was dropped, a duplicate, a reply nobody asked for) is a `RemoteProtocolError` that fails
 * the connection, so a reply can never reach another request. A single-key request is one
 * meta command and one reply. Multi-key requests are a batch ending with `mn`, complete at
 * `MN`. Gets and deletes in a batch use quiet mode (`q`: misses and successes are not
 * answered); stores are answered one by one so that a refusal names its key. Error lines
 * carry no opaque: one goes to the command after the last one answered (exact unless quiet
 * commands in between succeeded silently; a batch get then fails as a whole). Text commands
 * mixed in (`version`, `stats`, `flush_all`) have no opaque but reply codes no meta command
 * uses; nor has `mn` (memcached 1.6 answers `mn O1` with a bare `MN`), which only ends a batch
 * or a noop and carries no data. Binary keys (bytes a command line cannot carry) are sent base64 with the `b` flag.
 *
 * @example
 * ```ts
 * import { MetaConnection } from "@kvwire/kvwire/memcache";
 * const conn = new MetaConnection({ firstOpaque: 0 });
 * const id = conn.send({ op: "get", keys: [new TextEncoder().encode("k")] });
 * conn.pollTransmit(); // bytes of "mg k v f O0\r\n"
 * conn.receive(new TextEncoder().encode("VA 2 f0 O0\r\nhi\r\n"));
 * conn.nextEvent(); // { type: "reply", id, value: { type: "items", items: [...] } }
 * ```
 */
export class MetaConnection extends LineConnection<MetaEntry> {
  /** The opaque of the next command. */
  #nextOpaque: number;

  /** Creates a machine; nothing is sent until the first request. */
  constructor(options: MetaConnectionOptions = {}) {
    super(options);
    this.#nextOpaque = options.firstOpaque ?? Math.floor(Math.random() * MAX_OPAQUE);
  }

  /** Reserves `count` opaques for an entry's commands; returns the first. */
  #reserve(entry: MetaEntry, count: number): number {
    if (this.#nextOpaque + count > MAX_OPAQUE) this.#nextOpaque = 0;
    entry.opaque = this.#nextOpaque;
    this.#nextOpaque += count;
    return entry.opaque;
  }

  /** Encodes a request into meta commands and its entry. */
  protected encode(request: MemcacheRequest): MetaEntry {
    const entry: MetaEntry = {
      id: 0,
      name: requestName(request),
      start: 0,
      end: 0,
      settled: false,
      transmitted: false,
      kind: "ok",
      batch: false,
      next: 0,
      opaque: 0,
      echoes: undefined,
      items: undefined,
      statuses: undefined,
      responses: undefined,
      stats: undefined,
      error: undefined,
      result: undefined,
    };
    const w = this.outbox.writer;
    switch (request.op) {
      case "get": {
        if (request.keys.length === 1 && request.touch === undefined) {
          // The hot path: one key, constant flags.
          const key = prepareKey(request.keys[0]);
          entry.kind = "get";
          w.writeAscii("mg ");
          writeKey(w, key);
          w.writeAscii(base64Flag(key) + (request.cas ? " v f c O" : " v f O"));
          w.writeAscii(`${this.#reserve(entry, 1)}\r\n`);
          break;
        }
        const keys = prepareKeys(request.keys);
        const touch = request.touch === undefined ? "" : ` T${checkTtl(request.touch)}`;
        const tail = (request.cas ? " v f c" : " v f") + touch;
        entry.kind = "get";
        entry.items = new Array(keys.length).fill(null);
        const opaque = this.#reserve(entry, keys.length);
        if (keys.length === 1) {
          w.writeAscii("mg ");
          writeKey(w, keys[0]);
          w.writeAscii(`${base64Flag(keys[0])}${tail} O${opaque}\r\n`);
          break;
        }
        entry.batch = true;
        for (let i = 0; i < keys.length; i++) {
          w.writeAscii("mg ");
          writeKey(w, keys[i]);
          w.writeAscii(`${base64Flag(keys[i])}${tail} q O${opaque + i}\r\n`);
        }
        w.writeAscii("mn\r\n");
        break;
      }
      case "store": {
        const items = request.items;
        if (items.length === 0) throw new RangeError("A store needs at least one item");
        const heads = items.map((item) => storeHead(item, request.mode));
        entry.kind = "store";
        entry.batch = items.length > 1;
        entry.statuses = new Array(items.length).fill(undefined);
        const opaque = this.#reserve(entry, items.length);
        for (let i = 0; i < items.length; i++) {
          const head = heads[i];
          w.writeAscii("ms ");
          writeKey(w, head.key);
          w.writeAscii(` ${items[i].value.length}${base64Flag(head.key)}${head.rest}`);
          w.writeAscii(` O${opaque + i}\r\n`);
          w.writeBytes(items[i].value).writeAscii("\r\n");
        }
        if (entry.batch) w.writeAscii("mn\r\n");
        break;
      }
      case "delete": {
        checkDeleteTime(request.time, "meta");
        const keys = prepareKeys(request.keys);
        entry.kind = "delete";
        entry.batch = keys.length > 1;
        entry.statuses = new Array(keys.length).fill(undefined);
        const opaque = this.#reserve(entry, keys.length);
        for (let i = 0; i < keys.length; i++) {
          w.writeAscii("md ");
          writeKey(w, keys[i]);
          w.writeAscii(`${base64Flag(keys[i])}${entry.batch ? " q" : ""} O${opaque + i}\r\n`);
        }
        if (entry.batch) w.writeAscii("mn\r\n");
        break;
      }
      case "incr":
      case "decr": {
        const [key] = prepareKeys([request.key]);
        let tail = ` v D${checkU64(request.delta, "delta")}`;
        if (request.op === "decr") tail += " MD";
        if (request.initial !== undefined) {
          tail += ` N${checkTtl(request.ttl)} J${checkU64(request.initial, "initial value")}`;
        }
        entry.kind = "counter";
        w.writeAscii("ma ");
        writeKey(w, key);
        w.writeAscii(`${base64Flag(key)}${tail} O${this.#reserve(entry, 1)}\r\n`);
        break;
      }
      case "touch": {
        const [key] = prepareKeys([request.key]);
        const ttl = checkTtl(request.ttl);
        entry.kind = "touch";
        w.writeAscii("mg ");
        writeKey(w, key);
        w.writeAscii(`${base64Flag(key)} T${ttl} O${this.#reserve(entry, 1)}\r\n`);
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
        entry.kind = "version";
        w.writeAscii("version\r\n");
        break;
      case "noop":
        entry.kind = "noop";
        w.writeAscii("mn\r\n");
        break;
      case "meta": {
        const lines = request.commands.map(metaLine);
        if (lines.length === 0) throw new RangeError("A meta request needs a command");
        entry.kind = "meta";
        entry.batch = true;
        entry.responses = new Array(lines.length).fill(null);
        entry.echoes = lines.map((line) =>
          line.cmd !== "me" ? undefined : typeof line.key === "string" ? line.key : latin1(line.key)
        );
        const base = this.#reserve(entry, lines.length);
        lines.forEach((line, i) => {
          w.writeAscii(`${line.cmd} `);
          writeKey(w, line.key);
          const size = line.value ? ` ${line.value.length}` : "";
          const opaque = line.cmd === "me" ? "" : ` O${base + i}`;
          w.writeAscii(`${size}${base64Flag(line.key)}${line.rest}${opaque}\r\n`);
          if (line.value) w.writeBytes(line.value).writeAscii("\r\n");
        });
        w.writeAscii("mn\r\n");
        break;
      }
      default:
        throw new TypeError(`Unknown memcache request ${JSON.stringify(request)}`);
    }
    return entry;
  }

  /** Returns the data block length a line announces, or -1 for none. */
  protected dataLength(tokens: string[]): number {
    if (tokens[0] !== "VA") return -1;
    const size = parseCount(tokens[1]);
    if (size < 0) throw new RemoteProtocolError(`Bad meta value size in "${tokens.join(" ")}"`);
    return size;
  }

  /** Applies a response unit to its entry and returns true when the reply is complete. */
  protected consume(entry: MetaEntry, unit: ResponseUnit): boolean {
    const { tokens } = unit;
    const code = tokens[0];
    const error = errorFromTokens(tokens);
    if (!entry.batch) {
      if (code === "STAT" && entry.kind === "stats" && tokens.length >= 2) {
        entry.stats!.set(tokens[1], tokens.slice(2).join(" "));
        return false;
      }
      if (!error && CARRIES_OPAQUE[entry.kind] && owed(entry, tokens) !== 0) {
        throw foreign(entry, tokens);
      }
      entry.result = error ?? single(entry, code, unit);
      return true;
    }
    if (code === "MN") {
      entry.result = finishBatch(entry);
      return true;
    }
    const size = entry.items?.length ?? entry.statuses?.length ?? entry.responses!.length;
    const index = error ? entry.next : owed(entry, tokens);
    if (index >= size) {
      if (error) {
        entry.error ??= error; // more errors than commands: keep the first
        return false;
      }
      throw foreign(entry, tokens);
    }
    if (index < entry.next) throw foreign(entry, tokens); // answered already: a duplicate
    entry.next = index + 1;
    if (entry.kind === "get") {
      if (error) entry.error ??= error;
      else if (code === "VA") entry.items![index] = itemFrom(tokens, unit.data!);
      else if (code !== "EN" && code !== "HD") throw unexpected(entry, tokens);
    } else if (entry.kind === "meta") {
      entry.responses![index] = error ?? metaResponse(tokens, unit.data);
    } else {
      const status = entry.kind === "delete" && code === "HD" ? "deleted" : STATUS[code];
      if (!error && status === undefined) throw unexpected(entry, tokens);
      entry.statuses![index] = error ?? status;
    }
    return false;
  }
}

/** The largest opaque sent; the counter starts over below it. */
const MAX_OPAQUE = 2 ** 31;

/** Request kinds sent as meta commands, whose replies echo their opaque. */
const CARRIES_OPAQUE: Record<MetaEntryKind, boolean> = {
  get: true,
  store: true,
  delete: true,
  counter: true,
  touch: true,
  ok: false,
  stats: false,
  version: false,
  noop: false,
  meta: true,
};

/**
 * The position, among the entry's commands, of the command a reply answers: by its opaque,
 * or for a raw `me` (which echoes its key instead) the next `me` whose key it echoes; -1 when
 * the reply belongs to none of them.
 */
function owed(entry: MetaEntry, tokens: string[]): number {
  const code = tokens[0];
  const opaque = findOpaque(tokens, code === "VA" ? 2 : 1);
  if (opaque !== undefined) return opaque >= entry.opaque ? opaque - entry.opaque : -1;
  const echoes = entry.echoes;
  if (!echoes || (code !== "ME" && code !== "EN")) return -1;
  for (let i = entry.next; i < echoes.length; i++) {
    if (echoes[i] !== undefined) return code === "EN" || echoes[i] === tokens[1] ? i : -1;
  }
  return -1;
}

function foreign(entry: MetaEntry, tokens: string[]): RemoteProtocolError {
  const line = tokens.join(" ").slice(0, 100);
  return new RemoteProtocolError(
    `memcache reply "${line}" does not belong to ${entry.name} (expected opaque O${entry.opaque})`,
  );
}

function single(entry: MetaEntry, code: string, unit: ResponseUnit): MemcacheReply {
  const { tokens } = unit;
  switch (entry.kind) {
    case "get":
      if (code === "VA") return { type: "items", items: [itemFrom(tokens, unit.data!)] };
      if (code === "EN") return { type: "items", items: [null] };
      break;
    case "store":
      if (STATUS[code]) return { type: "statuses", statuses: [STATUS[code]] };
      break;
    case "delete":
      if (code === "HD") return { type: "statuses", statuses: ["deleted"] };
      if (code === "NF" || code === "EX") return { type: "statuses", statuses: [STATUS[code]] };
      break;
    case "touch":
      if (code === "HD") return { type: "statuses", statuses: ["touched"] };
      if (code === "EN") return { type: "statuses", statuses: ["notFound"] };
      break;
    case "counter":
      if (code === "VA") {
        const value = parseU64(latin1(unit.data!));
        if (value === undefined) break;
        return { type: "counter", value };
      }
      if (code === "NF" || code === "NS" || code === "EX") return { type: "counter", value: null };
      break;
    case "ok":
      if (code === "OK") return { type: "ok" };
      break;
    case "noop":
      if (code === "MN") return { type: "ok" };
      break;
    case "version":
      if (code === "VERSION") return { type: "version", version: tokens.slice(1).join(" ") };
      break;
    case "stats":
      return statsUnit(entry, tokens);
  }
  throw unexpected(entry, tokens);
}

/** The end of a stats reply (its STAT lines were taken by consume). */
function statsUnit(entry: MetaEntry, tokens: string[]): MemcacheReply {
  if (tokens[0] === "END" || tokens[0] === "RESET" || tokens[0] === "OK") {
    return { type: "stats", stats: entry.stats! };
  }
  throw unexpected(entry, tokens);
}

function finishBatch(entry: MetaEntry): MemcacheReply | MemcacheError {
  switch (entry.kind) {
    case "get":
      return entry.error ?? { type: "items", items: entry.items! };
    case "meta":
      return { type: "meta", responses: entry.responses! };
    default: {
      const quietDefault: MemcacheStatus | undefined = entry.kind === "delete"
        ? "deleted"
        : undefined;
      const statuses = Array.from(
        entry.statuses!,
        (s) =>
          s ?? quietDefault ?? new MemcacheError("memcached did not answer this store", "NO_REPLY"),
      );
      return { type: "statuses", statuses };
    }
  }
}

function unexpected(entry: MetaEntry, tokens: string[]): RemoteProtocolError {
  const line = tokens.join(" ").slice(0, 100);
  return new RemoteProtocolError(`Unexpected memcache reply "${line}" to ${entry.name}`);
}
