// Correlation tables that match replies to requests: in order (RESP, memcache text/meta,
// HTTP/1.1) with FifoTable, or by id (Thrift seqid, memcache binary opaque) with KeyedTable.

/**
 * A first-in first-out queue backed by a growable ring buffer: O(1) push and shift, no
 * array shifting on the hot path.
 *
 * @example
 * ```ts
 * import { FifoTable } from "@kvwire/kvwire";
 * const q = new FifoTable<string>();
 * q.push("a");
 * q.push("b");
 * q.shift(); // "a"
 * q.size; // 1
 * ```
 */
export class FifoTable<T> {
  #items: (T | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  /** Appends an entry at the tail. */
  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = item;
    this.#size++;
  }

  /** Removes and returns the oldest entry, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return item;
  }

  /** The oldest entry without removing it. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** The entry at position `index` from the head (0 = oldest). */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#size) return undefined;
    return this.#items[(this.#head + index) & (this.#items.length - 1)];
  }

  /** Removes every entry and returns them oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  /** Iterates oldest first without removing. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.at(i) as T;
  }

  #grow(): void {
    const next: (T | undefined)[] = new Array(this.#items.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = this.at(i);
    this.#items = next;
    this.#head = 0;
  }
}

/**
 * Pending requests keyed by a numeric id the table allocates (wrapping at 2^31, skipping ids
 * still in use), for protocols whose replies carry the request's id.
 *
 * @example
 * ```ts
 * import { KeyedTable } from "@kvwire/kvwire";
 * const t = new KeyedTable<string>();
 * const id = t.add("get k");
 * t.take(id); // "get k"
 * t.take(id); // undefined
 * ```
 */
export class KeyedTable<T> {
  #items = new Map<number, T>();
  #next: number;
  readonly #limit: number;

  /** Creates a table allocating ids from `first` up to `limit` (exclusive), then wrapping. */
  constructor(first = 1, limit = 0x80000000) {
    this.#next = first;
    this.#limit = limit;
  }

  /** Number of entries. */
  get size(): number {
    return this.#items.size;
  }

  /** Stores `value` under a fresh id and returns the id. */
  add(value: T): number {
    if (this.#items.size >= this.#limit - 1) throw new RangeError("Correlation table is full");
    let id = this.#next;
    while (this.#items.has(id)) id = id + 1 >= this.#limit ? 1 : id + 1;
    this.#next = id + 1 >= this.#limit ? 1 : id + 1;
    this.#items.set(id, value);
    return id;
  }

  /** The entry for `id` without removing it. */
  get(id: number): T | undefined {
    return this.#items.get(id);
  }

  /** Removes and returns the entry for `id`. */
  take(id: number): T | undefined {
    const value = this.#items.get(id);
    if (value !== undefined) this.#items.delete(id);
    return value;
  }

  /** Removes every entry and returns them in insertion order. */
  drain(): T[] {
    const out = [...this.#items.values()];
    this.#items.clear();
    return out;
  }

  /** Iterates `[id, value]` pairs in insertion order. */
  entries(): IterableIterator<[number, T]> {
    return this.#items.entries();
  }
}
