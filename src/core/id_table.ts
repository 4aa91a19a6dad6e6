// A map from request ids to entries, for ids that mostly grow by one: an array window indexed
// by `id - base` instead of a hash map (machines and drivers look an entry up on every reply).

/**
 * Entries keyed by numeric ids that are handed out in increasing order and mostly retired in
 * about the same order (request ids). A drop-in for the `Map` subset the drivers use, several
 * times cheaper per request than a hash map on V8 and JavaScriptCore.
 *
 * Theory of operation: live ids near the newest one sit in an array at `id - base`; retired
 * slots hold `undefined`. Retiring the oldest slot moves `head` past the retired run, and the
 * array is cut when the window empties or its retired prefix grows long. Ids that do not fit the
 * window (older than `base`, far ahead of it, or left behind by a long-lived entry such as a
 * watch while thousands of newer ids came and went) live in a side `Map`, so memory stays
 * bounded by the live entries whatever the order of retirement.
 *
 * @example
 * ```ts
 * import { IdTable } from "@kvwire/kvwire";
 * const t = new IdTable<string>();
 * t.set(1, "GET a");
 * t.set(2, "GET b");
 * t.delete(1); // true
 * t.get(2); // "GET b"
 * t.size; // 1
 * ```
 */
export class IdTable<V> {
  #items: (V | undefined)[] = [];
  #base = 0; // id of #items[0]
  #head = 0; // index of the oldest slot that may be live
  #live = 0; // live entries in the window
  #aside: Map<number, V> | undefined; // ids outside the window

  /** Entries stored. */
  get size(): number {
    return this.#live + (this.#aside?.size ?? 0);
  }

  /** Array slots held by the window, live or retired (a memory diagnostic). */
  get slots(): number {
    return this.#items.length;
  }

  /** The entry for `id`, or undefined. */
  get(id: number): V | undefined {
    const i = id - this.#base;
    if (i >= this.#head && i < this.#items.length) return this.#items[i];
    return this.#aside?.get(id);
  }

  /** Stores `value` under `id` (replacing an entry with the same id). */
  set(id: number, value: V): this {
    const items = this.#items;
    if (items.length === 0 && this.#live === 0) {
      this.#base = id;
      this.#head = 0;
    }
    const i = id - this.#base;
    if (i >= this.#head && i < items.length) {
      if (items[i] === undefined) this.#live++;
      items[i] = value;
    } else if (i >= items.length && i < items.length + GAP) {
      while (items.length < i) items.push(undefined);
      items.push(value);
      this.#live++;
      if (items.length > REBUILD_AT && this.#live * 8 < items.length - this.#head) this.#evict();
    } else (this.#aside ??= new Map()).set(id, value);
    return this;
  }

  /** Removes the entry for `id`; true when there was one. */
  delete(id: number): boolean {
    const items = this.#items;
    const i = id - this.#base;
    if (i < this.#head || i >= items.length) return this.#aside?.delete(id) ?? false;
    if (items[i] === undefined) return false;
    items[i] = undefined;
    this.#live--;
    if (i === this.#head) this.#advance();
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#live = 0;
    this.#aside = undefined;
  }

  /** The `[id, entry]` pairs, those set aside first, then the window in id order. */
  *entries(): IterableIterator<[number, V]> {
    if (this.#aside) yield* [...this.#aside];
    const items = this.#items;
    const base = this.#base;
    for (let i = this.#head; i < items.length; i++) {
      const value = items[i];
      if (value !== undefined) yield [base + i, value];
    }
  }

  /** The entries, in the order of {@link entries}. */
  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  /** Same as {@link entries}, so that `for (const [id, v] of table)` works as with a Map. */
  [Symbol.iterator](): IterableIterator<[number, V]> {
    return this.entries();
  }

  /** Moves `head` past retired slots; cuts the array when it is empty or mostly retired. */
  #advance(): void {
    const items = this.#items;
    let h = this.#head;
    while (h < items.length && items[h] === undefined) h++;
    if (h === items.length) {
      this.#base += h;
      this.#items = [];
      this.#head = 0;
    } else if (h >= CUT_AT) {
      this.#base += h;
      this.#items = items.slice(h);
      this.#head = 0;
    } else this.#head = h;
  }

  /** Moves the few live window entries aside and restarts the window at the newest id. */
  #evict(): void {
    const items = this.#items;
    const aside = (this.#aside ??= new Map());
    const newest = this.#base + items.length - 1;
    for (let i = this.#head; i < items.length - 1; i++) {
      const value = items[i];
      if (value !== undefined) aside.set(this.#base + i, value);
    }
    this.#items = [items[items.length - 1]];
    this.#base = newest;
    this.#head = 0;
    this.#live = 1;
  }
}

/** Ids this far past the newest one go aside instead of padding the window. */
const GAP = 1024;
/** The retired prefix is cut once it is this long. */
const CUT_AT = 1024;
/** Past this window length, a window less than 1/8 live is moved aside. */
const REBUILD_AT = 4096;
