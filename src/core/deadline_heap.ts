// A binary min-heap of deadlines for machines with many requests in flight: O(log n) insert,
// earliest deadline in O(1), entries that settled early are skipped lazily when they surface.

/**
 * Deadlines with payloads. `isLive` decides whether an entry still matters; dead entries are
 * discarded when they reach the top, so settling a request costs nothing here.
 *
 * @example
 * ```ts
 * import { DeadlineHeap } from "@kvwire/kvwire";
 * const heap = new DeadlineHeap<{ done: boolean }>((r) => !r.done);
 * const a = { done: false };
 * heap.push(50, a);
 * heap.push(20, { done: true });
 * heap.peek(); // 50: the settled entry was skipped
 * heap.popExpired(60); // [a]
 * ```
 */
export class DeadlineHeap<T> {
  #times: number[] = [];
  #items: T[] = [];
  readonly #isLive: (item: T) => boolean;

  /** Creates an empty heap; `isLive` tells which entries still count. */
  constructor(isLive: (item: T) => boolean) {
    this.#isLive = isLive;
  }

  /** Entries held, live or not yet discarded. */
  get size(): number {
    return this.#times.length;
  }

  /** Adds an entry due at `time`. */
  push(time: number, item: T): void {
    const times = this.#times;
    const items = this.#items;
    let i = times.length;
    times.push(time);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] <= time) break;
      times[i] = times[parent];
      items[i] = items[parent];
      i = parent;
    }
    times[i] = time;
    items[i] = item;
  }

  /** The earliest live deadline, or `undefined`. */
  peek(): number | undefined {
    while (this.#times.length > 0 && !this.#isLive(this.#items[0])) this.#pop();
    return this.#times[0];
  }

  /** Removes and returns the live entries due at or before `now`, earliest first. */
  popExpired(now: number): T[] {
    const out: T[] = [];
    for (let next = this.peek(); next !== undefined && next <= now; next = this.peek()) {
      out.push(this.#pop());
    }
    return out;
  }

  /** Drops every entry. */
  clear(): void {
    this.#times.length = 0;
    this.#items.length = 0;
  }

  #pop(): T {
    const times = this.#times;
    const items = this.#items;
    const top = items[0];
    const lastTime = times.pop() as number;
    const lastItem = items.pop() as T;
    const n = times.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && times[child + 1] < times[child]) child++;
      if (times[child] >= lastTime) break;
      times[i] = times[child];
      items[i] = items[child];
      i = child;
    }
    times[i] = lastTime;
    items[i] = lastItem;
    return top;
  }
}
