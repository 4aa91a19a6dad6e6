// HPACK header tables (RFC 7541 §2.3, Appendix A): the static table and the dynamic table with
// its size accounting (§4.1: name + value + 32 octets), size updates and eviction (§4.4).

/** One header field: a lower-case name and its value. */
export type HeaderField = readonly [name: string, value: string];

/** The static table of RFC 7541 Appendix A; index 1 is `STATIC_TABLE[0]`. */
export const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/**
 * The size of an entry as HPACK counts it (RFC 7541 §4.1); names and values are octet
 * strings (one char per octet).
 *
 * @example
 * ```ts
 * import { entrySize } from "./hpack_table.ts";
 * entrySize("custom-key", "custom-header"); // 55
 * ```
 */
export function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

/**
 * The dynamic table: newest entry first (HPACK index 62 is the newest), bounded by a size in
 * octets; adding beyond it evicts the oldest entries.
 *
 * @example
 * ```ts
 * import { DynamicTable } from "./hpack_table.ts";
 * const t = new DynamicTable(4096);
 * t.add("custom-key", "custom-header");
 * t.size; // 55
 * t.get(0); // ["custom-key", "custom-header"]
 * ```
 */
export class DynamicTable {
  /** Entries oldest first, so adding is a push; index 0 of `get` is the last element. */
  #entries: HeaderField[] = [];
  #size = 0;
  #maxSize: number;

  /** Creates an empty table of `maxSize` octets. */
  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  /** Octets used. */
  get size(): number {
    return this.#size;
  }

  /** The current maximum size in octets. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** Entries held. */
  get length(): number {
    return this.#entries.length;
  }

  /** The entry `index` places from the newest (0 = newest), or undefined. */
  get(index: number): HeaderField | undefined {
    return this.#entries[this.#entries.length - 1 - index];
  }

  /** Finds an entry: its position from the newest, and whether the value matched too. */
  find(name: string, value: string): { index: number; exact: boolean } | undefined {
    let nameOnly = -1;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const [n, v] = this.#entries[i];
      if (n !== name) continue;
      if (v === value) return { index: this.#entries.length - 1 - i, exact: true };
      if (nameOnly === -1) nameOnly = this.#entries.length - 1 - i;
    }
    return nameOnly === -1 ? undefined : { index: nameOnly, exact: false };
  }

  /** Adds an entry, evicting old ones; an entry larger than the table empties it (§4.4). */
  add(name: string, value: string): void {
    const size = entrySize(name, value);
    this.#evict(this.#maxSize - size);
    if (size <= this.#maxSize) {
      this.#entries.push([name, value]);
      this.#size += size;
    }
  }

  /** Changes the maximum size, evicting as needed (§4.3). */
  resize(maxSize: number): void {
    this.#maxSize = maxSize;
    this.#evict(maxSize);
  }

  #evict(limit: number): void {
    let drop = 0;
    while (this.#size > Math.max(0, limit) && drop < this.#entries.length) {
      const [n, v] = this.#entries[drop++];
      this.#size -= entrySize(n, v);
    }
    if (drop > 0) this.#entries.splice(0, drop);
  }
}
