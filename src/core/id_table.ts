// A map from request ids to entries, for ids that mostly grow by one: a ring of slots indexed by
// `id & mask` instead of a hash map (machines and drivers look an entry up on every reply).

/**
 * Entries keyed by numeric ids that are handed out in increasing order and mostly retired in
 * about the same order (request ids). A drop-in for the `Map` subset the drivers use, several
 * times cheaper per request than a hash map on V8 and JavaScriptCore, and allocation-free in
 * the steady state.
 *
 * Theory of operation: an entry lives in slot `id & mask` of a power-of-two ring, with its id
 * beside it. When a new id lands on a slot still held by an older live entry (one that stayed
 * while `capacity` newer ids came and went, such as a watch or a subscription), the older entry
 * moves to a side `Map`; the ring doubles when it is half full. So memory stays bounded by the
 * live entries whatever the order of retirement, and ids that are not small non-negative
 * integers simply live in the side map.
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
  #ids: number[] = new Array<number>(INITIAL).fill(-1);
  #values: (V | undefined)[] = new Array<V | undefined>(INITIAL).fill(undefined);
  #mask = INITIAL - 1;
  #live = 0; // entries in the ring
  #aside: Map<number, V> | undefined; // entries that do not fit the ring
  #asideMax = -1; // the largest ring-eligible id ever set aside

  /** Entries stored. */
  get size(): number {
    return this.#live + (this.#aside?.size ?? 0);
  }

  /** Slots of the ring (a memory diagnostic). */
  get slots(): number {
    return this.#ids.length;
  }

  /** The entry for `id`, or undefined. */
  get(id: number): V | undefined {
    const slot = id & this.#mask;
    if (this.#ids[slot] === id) return this.#values[slot];
    return this.#aside?.get(id);
  }

  /** Stores `value` under `id` (replacing an entry with the same id). */
  set(id: number, value: V): this {
    if (!(id >= 0 && id <= MAX_ID && Number.isInteger(id))) {
      (this.#aside ??= new Map()).set(id, value);
      return this;
    }
    // An entry set aside under this id is replaced. Fresh ids are above every id set aside,
    // so the common case skips the map.
    if (id <= this.#asideMax) this.#aside?.delete(id);
    let slot = id & this.#mask;
    const held = this.#ids[slot];
    if (held === id) {
      this.#values[slot] = value;
      return this;
    }
    if (held !== -1) {
      // An older entry outlived a whole turn of the ring: keep it aside.
      this.#putAside(held, this.#values[slot]!);
      this.#live--;
    }
    if (this.#live * 2 >= this.#ids.length) {
      this.#grow();
      slot = id & this.#mask;
      if (this.#ids[slot] !== -1) {
        this.#putAside(this.#ids[slot], this.#values[slot]!);
        this.#live--;
      }
    }
    this.#ids[slot] = id;
    this.#values[slot] = value;
    this.#live++;
    return this;
  }

  /** Removes the entry for `id`; true when there was one. */
  delete(id: number): boolean {
    const slot = id & this.#mask;
    if (this.#ids[slot] === id) {
      this.#ids[slot] = -1;
      this.#values[slot] = undefined;
      this.#live--;
      return true;
    }
    return this.#aside?.delete(id) ?? false;
  }

  /** Removes every entry. */
  clear(): void {
    this.#ids.fill(-1);
    this.#values.fill(undefined);
    this.#live = 0;
    this.#aside = undefined;
    this.#asideMax = -1;
  }

  /** The `[id, entry]` pairs in id order. */
  *entries(): IterableIterator<[number, V]> {
    const out: [number, V][] = this.#aside ? [...this.#aside] : [];
    for (let slot = 0; slot < this.#ids.length; slot++) {
      if (this.#ids[slot] !== -1) out.push([this.#ids[slot], this.#values[slot]!]);
    }
    out.sort((a, b) => a[0] - b[0]);
    yield* out;
  }

  /** The entries, in the order of {@link entries}. */
  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  /** Same as {@link entries}, so that `for (const [id, v] of table)` works as with a Map. */
  [Symbol.iterator](): IterableIterator<[number, V]> {
    return this.entries();
  }

  /** Moves a ring entry to the side map. */
  #putAside(id: number, value: V): void {
    (this.#aside ??= new Map()).set(id, value);
    if (id > this.#asideMax) this.#asideMax = id;
  }

  /** Doubles the ring; entries keep their ids, so each lands on a slot of its own. */
  #grow(): void {
    const ids = this.#ids;
    const values = this.#values;
    const size = ids.length * 2;
    this.#ids = new Array<number>(size).fill(-1);
    this.#values = new Array<V | undefined>(size).fill(undefined);
    this.#mask = size - 1;
    for (let slot = 0; slot < ids.length; slot++) {
      if (ids[slot] !== -1) {
        const to = ids[slot] & this.#mask;
        this.#ids[to] = ids[slot];
        this.#values[to] = values[slot];
      }
    }
  }
}

const INITIAL = 64;
/** Larger ids (and negative or fractional ones) go to the side map: `&` works on 31 bits. */
const MAX_ID = 0x3fffffff;
