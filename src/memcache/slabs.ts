// Parsed slab statistics (python-memcached's `get_slabs`): `stats slabs` and `stats items`
// joined into one typed record per slab class.

/** One slab class of a server: its memory (`stats slabs`) and its items (`stats items`). */
export interface SlabClass {
  /** The class number (1 and up). */
  id: number;
  /** Bytes per chunk (`chunk_size`). */
  chunkSize: number;
  /** Chunks per 1 MiB page (`chunks_per_page`). */
  chunksPerPage: number;
  /** Pages given to the class (`total_pages`). */
  totalPages: number;
  /** Chunks holding items (`used_chunks`). */
  usedChunks: number;
  /** Chunks free (`free_chunks`). */
  freeChunks: number;
  /** Items stored (`items:<id>:number`); 0 for a class with none. */
  number: number;
  /** Seconds since the oldest item was last used (`items:<id>:age`). */
  age: number;
  /** Items evicted to make room (`items:<id>:evicted`). */
  evicted: number;
  /** Stores refused for lack of memory (`items:<id>:outofmemory`). */
  outOfMemory: number;
  /** Every `stats slabs` field of the class, by its server name (`get_hits`, `cmd_set`...). */
  slabs: Record<string, number>;
  /** Every `stats items` field of the class, by its server name (`number_hot`, `reclaimed`...). */
  items: Record<string, number>;
}

/** A server's slab statistics: its classes by number and the totals. */
export interface SlabStats {
  /** The slab classes, by class number, in ascending order. */
  classes: Map<number, SlabClass>;
  /** Classes holding memory (`active_slabs`). */
  activeSlabs: number;
  /** Bytes given to slabs (`total_malloced`). */
  totalMalloced: number;
}

/**
 * Joins the answers of `stats slabs` and `stats items` into typed records per slab class.
 * Unknown fields are kept (numbers) in `slabs` and `items`; a field that is not a number is
 * left out.
 *
 * @example
 * ```ts
 * import { parseSlabStats } from "@kvwire/kvwire/memcache";
 * const s = parseSlabStats(
 *   { "7:chunk_size": "384", "7:used_chunks": "1", active_slabs: "1", total_malloced: "1048576" },
 *   { "items:7:number": "1", "items:7:age": "12" },
 * );
 * s.classes.get(7)?.chunkSize; // 384
 * s.classes.get(7)?.age; // 12
 * ```
 */
export function parseSlabStats(
  slabs: Record<string, string>,
  items: Record<string, string>,
): SlabStats {
  const raw = new Map<number, { slabs: Record<string, number>; items: Record<string, number> }>();
  const entry = (id: number) => {
    let e = raw.get(id);
    if (!e) raw.set(id, e = { slabs: {}, items: {} });
    return e;
  };
  for (const [name, text] of Object.entries(slabs)) {
    const m = /^(\d+):(\w+)$/.exec(name);
    const value = Number(text);
    if (m && text !== "" && Number.isFinite(value)) entry(Number(m[1])).slabs[m[2]] = value;
  }
  for (const [name, text] of Object.entries(items)) {
    const m = /^items:(\d+):(\w+)$/.exec(name);
    const value = Number(text);
    if (m && text !== "" && Number.isFinite(value)) entry(Number(m[1])).items[m[2]] = value;
  }
  const classes = new Map<number, SlabClass>();
  for (const id of [...raw.keys()].sort((a, b) => a - b)) {
    const { slabs: s, items: i } = raw.get(id)!;
    classes.set(id, {
      id,
      chunkSize: s.chunk_size ?? 0,
      chunksPerPage: s.chunks_per_page ?? 0,
      totalPages: s.total_pages ?? 0,
      usedChunks: s.used_chunks ?? 0,
      freeChunks: s.free_chunks ?? 0,
      number: i.number ?? 0,
      age: i.age ?? 0,
      evicted: i.evicted ?? 0,
      outOfMemory: i.outofmemory ?? 0,
      slabs: s,
      items: i,
    });
  }
  return {
    classes,
    activeSlabs: Number(slabs.active_slabs ?? 0),
    totalMalloced: Number(slabs.total_malloced ?? 0),
  };
}
