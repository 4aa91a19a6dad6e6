// Hostile-server responders for memcache's meta, text and binary protocols: request parsers and
// a tiny in-memory store, written from doc/protocol.txt and the binary spec, not from src/memcache.
import type { HostileProtocol } from "../_helpers/hostile_server.ts";
import { concatBytes } from "../../src/core/bytes.ts";

/** A stored item. */
interface Item {
  value: Uint8Array;
  flags: number;
  cas: number;
}

/** The store a responder answers from; shared by every connection to one server. */
export type Store = Map<string, Item>;

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const text = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

/** The offset of the first CRLF, or -1. */
function crlf(buffer: Uint8Array): number {
  for (let i = 0; i + 1 < buffer.length; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10) return i;
  }
  return -1;
}

/** A command line and, for storage commands, its data block. */
export interface LineRequest {
  tokens: string[];
  data?: Uint8Array;
}

/** Splits a command line (plus `dataAt(tokens)` bytes of data, when it says so) off `buffer`. */
function parseLine(
  buffer: Uint8Array,
  dataLength: (tokens: string[]) => number,
): { request: LineRequest; length: number } | undefined {
  const end = crlf(buffer);
  if (end < 0) return undefined;
  const tokens = text(buffer.subarray(0, end)).split(" ");
  const size = dataLength(tokens);
  if (size < 0) return { request: { tokens }, length: end + 2 };
  if (buffer.length < end + 2 + size + 2) return undefined;
  const data = buffer.slice(end + 2, end + 2 + size);
  return { request: { tokens, data }, length: end + 2 + size + 2 };
}

let casCounter = 1;

function put(store: Store, key: string, value: Uint8Array, flags: number): void {
  store.set(key, { value, flags, cas: casCounter++ });
}

/** Seeds `store` with `key → value` (text, flag 16 as python-memcached's str). */
export function seed(store: Store, key: string, value: string): void {
  put(store, key, ascii(value), 16);
}

const VERSION = "VERSION 1.6.99-hostile\r\n";

/** The meta protocol (mg, ms, md, ma, mn) plus version, flush_all and stats. */
export function metaProtocol(store: Store): HostileProtocol<LineRequest> {
  return {
    hasHandshake: true,
    parse: (buffer) => parseLine(buffer, (t) => (t[0] === "ms" ? Number.parseInt(t[2], 10) : -1)),
    respond({ tokens, data }) {
      const [cmd, key] = tokens;
      if (cmd === "version") return { bytes: ascii(VERSION), handshake: true };
      const flags = tokens.slice(cmd === "ms" ? 3 : 2);
      const has = (f: string): boolean => flags.includes(f);
      const arg = (f: string): string | undefined =>
        flags.find((x) => x.length > 1 && x[0] === f)?.slice(1);
      // O (opaque) and k (key) are echoed on every answer that is sent.
      const echo = flags.filter((f) => f[0] === "O").map((f) => ` ${f}`).join("") +
        (has("k") ? ` k${key}` : "");
      const quiet = has("q");
      const reply = (line: string, value?: Uint8Array): { bytes: Uint8Array } => ({
        bytes: value ? concatBytes([ascii(line), value, ascii("\r\n")]) : ascii(line),
      });
      switch (cmd) {
        case "mg": {
          const item = store.get(key);
          if (!item) return reply(quiet ? "" : `EN${echo}\r\n`);
          let ret = "";
          if (has("f")) ret += ` f${item.flags}`;
          if (has("c")) ret += ` c${item.cas}`;
          if (has("t")) ret += " t-1";
          if (has("v")) return reply(`VA ${item.value.length}${ret}${echo}\r\n`, item.value);
          return reply(quiet ? "" : `HD${ret}${echo}\r\n`);
        }
        case "ms": {
          const mode = arg("M") ?? "S";
          const old = store.get(key);
          if ((mode === "E" && old) || ((mode === "R" || mode === "A" || mode === "P") && !old)) {
            return reply(`NS${echo}\r\n`);
          }
          const cas = arg("C");
          if (cas !== undefined && old?.cas !== Number(cas)) {
            return reply(`${old ? "EX" : "NF"}${echo}\r\n`);
          }
          let value = data!;
          if (mode === "A") value = concatBytes([old!.value, value]);
          if (mode === "P") value = concatBytes([value, old!.value]);
          put(store, key, value, Number(arg("F") ?? old?.flags ?? 0));
          return reply(quiet ? "" : `HD${echo}\r\n`);
        }
        case "md":
          if (!store.delete(key)) return reply(`NF${echo}\r\n`);
          return reply(quiet ? "" : `HD${echo}\r\n`);
        case "ma": {
          let item = store.get(key);
          if (!item) {
            if (arg("N") === undefined) return reply(`NF${echo}\r\n`);
            put(store, key, ascii(arg("J") ?? "0"), 0);
          } else {
            const delta = BigInt(arg("D") ?? "1");
            let n = BigInt(text(item.value)) + (arg("M") === "D" ? -delta : delta);
            if (n < 0n) n = 0n;
            put(store, key, ascii(String(n)), item.flags);
          }
          item = store.get(key)!;
          if (has("v")) return reply(`VA ${item.value.length}${echo}\r\n`, item.value);
          return reply(quiet ? "" : `HD${echo}\r\n`);
        }
        case "mn":
          return reply("MN\r\n");
        case "flush_all":
          store.clear();
          return reply("OK\r\n");
        case "stats":
          return reply("END\r\n");
        default:
          return reply("ERROR\r\n");
      }
    },
  };
}

const STORAGE = ["set", "add", "replace", "append", "prepend", "cas"];

/** The text protocol: get/gets/gat/gats, storage commands, delete, incr/decr, touch. */
export function textProtocol(store: Store): HostileProtocol<LineRequest> {
  return {
    hasHandshake: true,
    parse: (buffer) =>
      parseLine(buffer, (t) => (STORAGE.includes(t[0]) ? Number.parseInt(t[4], 10) : -1)),
    respond({ tokens, data }) {
      const cmd = tokens[0];
      const line = (s: string): { bytes: Uint8Array } => ({ bytes: ascii(s) });
      if (cmd === "version") return { bytes: ascii(VERSION), handshake: true };
      if (cmd === "get" || cmd === "gets" || cmd === "gat" || cmd === "gats") {
        const keys = tokens.slice(cmd.startsWith("gat") ? 2 : 1);
        const parts: Uint8Array[] = [];
        for (const key of keys) {
          const item = store.get(key);
          if (!item) continue;
          const cas = cmd.endsWith("s") ? ` ${item.cas}` : "";
          parts.push(ascii(`VALUE ${key} ${item.flags} ${item.value.length}${cas}\r\n`));
          parts.push(item.value, ascii("\r\n"));
        }
        parts.push(ascii("END\r\n"));
        return { bytes: concatBytes(parts) };
      }
      const key = tokens[1];
      const old = store.get(key);
      if (STORAGE.includes(cmd)) {
        if ((cmd === "add" && old) || (cmd !== "set" && cmd !== "add" && !old)) {
          return line(cmd === "cas" ? "NOT_FOUND\r\n" : "NOT_STORED\r\n");
        }
        if (cmd === "cas" && old!.cas !== Number(tokens[5])) return line("EXISTS\r\n");
        let value = data!;
        if (cmd === "append") value = concatBytes([old!.value, value]);
        if (cmd === "prepend") value = concatBytes([value, old!.value]);
        put(store, key, value, Number(tokens[2]));
        return line("STORED\r\n");
      }
      switch (cmd) {
        case "delete":
          return line(store.delete(key) ? "DELETED\r\n" : "NOT_FOUND\r\n");
        case "incr":
        case "decr": {
          if (!old) return line("NOT_FOUND\r\n");
          const delta = BigInt(tokens[2]);
          let n = BigInt(text(old.value)) + (cmd === "decr" ? -delta : delta);
          if (n < 0n) n = 0n;
          put(store, key, ascii(String(n)), old.flags);
          return line(`${n}\r\n`);
        }
        case "touch":
          return line(old ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
        case "flush_all":
          store.clear();
          return line("OK\r\n");
        case "stats":
          return line("END\r\n");
        default:
          return line("ERROR\r\n");
      }
    },
  };
}

/** A binary protocol request: the header fields that matter, extras, key and value. */
export interface BinaryRequest {
  opcode: number;
  opaque: number;
  extras: Uint8Array;
  key: string;
  value: Uint8Array;
}

/** A binary response frame. */
export function binaryFrame(
  opcode: number,
  opaque: number,
  options: { status?: number; extras?: Uint8Array; value?: Uint8Array; cas?: number } = {},
): Uint8Array {
  const extras = options.extras ?? new Uint8Array(0);
  const value = options.value ?? new Uint8Array(0);
  const frame = new Uint8Array(24 + extras.length + value.length);
  const view = new DataView(frame.buffer);
  frame[0] = 0x81;
  frame[1] = opcode;
  frame[4] = extras.length;
  view.setUint16(6, options.status ?? 0);
  view.setUint32(8, extras.length + value.length);
  view.setUint32(12, opaque);
  view.setUint32(20, options.cas ?? 0);
  frame.set(extras, 24);
  frame.set(value, 24 + extras.length);
  return frame;
}

const QUIET: Record<number, number> = {
  0x09: 0x00,
  0x0d: 0x0c,
  0x11: 0x01,
  0x12: 0x02,
  0x13: 0x03,
  0x14: 0x04,
  0x19: 0x0e,
  0x1a: 0x0f,
  0x1e: 0x1d,
};

/** The binary protocol: get/set/add/replace/append/prepend/delete (and quiet forms), incr, decr, touch, gat, noop, version, SASL. */
export function binaryProtocol(store: Store): HostileProtocol<BinaryRequest> {
  return {
    hasHandshake: true,
    parse(buffer) {
      if (buffer.length < 24) return undefined;
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const body = view.getUint32(8);
      if (buffer.length < 24 + body) return undefined;
      const keyLength = view.getUint16(2);
      const extrasLength = buffer[4];
      const extras = buffer.slice(24, 24 + extrasLength);
      const key = text(buffer.subarray(24 + extrasLength, 24 + extrasLength + keyLength));
      const value = buffer.slice(24 + extrasLength + keyLength, 24 + body);
      return {
        request: { opcode: buffer[1], opaque: view.getUint32(12), extras, key, value },
        length: 24 + body,
      };
    },
    respond({ opcode, opaque, extras, key, value }) {
      const quiet = opcode in QUIET;
      const op = QUIET[opcode] ?? opcode;
      const ok = (options: Parameters<typeof binaryFrame>[2] = {}): { bytes: Uint8Array } => ({
        bytes: quiet && !options.status && op !== 0x00 && op !== 0x0c && op !== 0x1d
          ? new Uint8Array(0)
          : binaryFrame(opcode, opaque, options),
      });
      const fail = (status: number): { bytes: Uint8Array } => ({
        bytes: quiet && (op === 0x00 || op === 0x0c || op === 0x1d)
          ? new Uint8Array(0)
          : binaryFrame(opcode, opaque, {
            status,
            value: ascii(status === 1 ? "Not found" : "Failed"),
          }),
      });
      const old = store.get(key);
      const ext = new DataView(extras.buffer, extras.byteOffset, extras.byteLength);
      switch (op) {
        case 0x0b:
          return {
            bytes: binaryFrame(opcode, opaque, { value: ascii("1.6.99") }),
            handshake: true,
          };
        case 0x21:
          return {
            bytes: binaryFrame(opcode, opaque, { value: ascii("Authenticated") }),
            handshake: true,
          };
        case 0x00:
        case 0x0c:
        case 0x1d: {
          if (!old) return fail(1);
          const flags = new Uint8Array(4);
          new DataView(flags.buffer).setUint32(0, old.flags);
          return ok({ extras: flags, value: old.value, cas: old.cas });
        }
        case 0x01:
        case 0x02:
        case 0x03:
        case 0x0e:
        case 0x0f: {
          if (op === 0x02 && old) return fail(2);
          if (op !== 0x01 && op !== 0x02 && !old) return fail(op === 0x03 ? 1 : 5);
          let stored = value;
          if (op === 0x0e) stored = concatBytes([old!.value, value]);
          if (op === 0x0f) stored = concatBytes([value, old!.value]);
          put(store, key, stored, extras.length >= 4 ? ext.getUint32(0) : old!.flags);
          return ok({ cas: store.get(key)!.cas });
        }
        case 0x04:
          return store.delete(key) ? ok() : fail(1);
        case 0x05:
        case 0x06: {
          const delta = ext.getBigUint64(0);
          let n: bigint;
          if (!old) {
            if (ext.getUint32(16) === 0xffffffff) return fail(1);
            n = ext.getBigUint64(8);
          } else {
            n = BigInt(text(old.value)) + (op === 0x06 ? -delta : delta);
            if (n < 0n) n = 0n;
          }
          put(store, key, ascii(String(n)), old?.flags ?? 0);
          const out = new Uint8Array(8);
          new DataView(out.buffer).setBigUint64(0, n);
          return ok({ value: out });
        }
        case 0x1c:
          return old ? ok() : fail(1);
        case 0x08:
          store.clear();
          return ok();
        case 0x10:
        case 0x0a:
          return { bytes: binaryFrame(opcode, opaque) };
        default:
          return { bytes: binaryFrame(opcode, opaque, { status: 0x81 }) };
      }
    },
  };
}
