// Values against the real python-memcached, both ways, with `serializer: "python"`: every type
// (str, bytes, int, big int, float, bool, None, list, tuple, dict, set, frozenset), get_multi of
// mixed types, zlib both ways, pickled objects refused, and fast-check round trips of the pickle
// codec through Python's own pickle module.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { KvError, RemoteProtocolError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { unpickle, UnsafePickleError } from "../../src/memcache/pickle.ts";
import { pickle, type PickleProtocol } from "../../src/memcache/pickle_writer.ts";
import { memcachedAddress } from "../_helpers/servers.ts";
import { runPython } from "./_python.ts";

const { host, port } = await memcachedAddress();
const SERVER = `${host}:${port}`;
const RUN = `iv${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}:`;
const clients: MemcacheClient[] = [];
after(() => {
  for (const c of clients) c.destroy();
});

async function client(options: Parameters<typeof MemcacheClient.connect>[1] = {}) {
  const mc = await MemcacheClient.connect([SERVER], { serializer: "python", ...options });
  clients.push(mc);
  return mc;
}

/** Python side: store values given as Python expressions, read keys as type tags, (un)pickle. */
const PY = `
import base64, json, pickle, struct, sys
import memcache

class Point:
    def __init__(self):
        self.x = 1

def tag(v):
    t = type(v)
    if v is None: return ["None"]
    if t is bool: return ["bool", v]
    if t is int: return ["int", str(v)]
    if t is float: return ["float", struct.pack(">d", v).hex()]
    if t is str: return ["str", v]
    if t in (bytes, bytearray): return ["bytes", v.hex()]
    if t is list: return ["list", [tag(x) for x in v]]
    if t is tuple: return ["tuple", [tag(x) for x in v]]
    if t is dict: return ["dict", [[tag(k), tag(x)] for k, x in v.items()]]
    if t in (set, frozenset): return ["set", [tag(x) for x in v]]
    return ["other", repr(v)]

job = json.load(sys.stdin)
out = None
if job["op"] == "store":
    mc = memcache.Client([job["server"]], pickleProtocol=job.get("protocol", 0))
    for key, expr in job["items"]:
        assert mc.set(key, eval(expr), min_compress_len=job.get("compress", 0))
elif job["op"] == "read":
    mc = memcache.Client([job["server"]])
    found = mc.get_multi(job["keys"])
    out = dict((k, tag(v)) for k, v in found.items())
elif job["op"] == "loads":
    out = []
    for b64, protocol in job["items"]:
        v = pickle.loads(base64.b64decode(b64))
        out.append([tag(v), base64.b64encode(pickle.dumps(v, protocol)).decode()])
print(json.dumps(out))
`;

type Tag = unknown[];

function floatHex(n: number): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n, false);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The type tag Python gives the value kvwire pickles from `v` (arrays as keys are tuples). */
function tagOf(v: unknown, key = false): Tag {
  if (v === null) return ["None"];
  if (typeof v === "boolean") return ["bool", v];
  if (typeof v === "bigint") return ["int", String(v)];
  if (typeof v === "number") {
    return Number.isSafeInteger(v) && !Object.is(v, -0)
      ? ["int", String(v)]
      : ["float", floatHex(v)];
  }
  if (typeof v === "string") return ["str", v];
  if (v instanceof Uint8Array) {
    return [
      "bytes",
      Array.from(v, (x) => x.toString(16).padStart(2, "0")).join(""),
    ];
  }
  if (Array.isArray(v)) return [key ? "tuple" : "list", v.map((x) => tagOf(x, key))];
  if (v instanceof Set) return ["set", [...v].map((x) => tagOf(x, true))];
  if (v instanceof Map) return ["dict", [...v].map(([k, x]) => [tagOf(k, true), tagOf(x)])];
  return ["dict", Object.entries(v as object).map(([k, x]) => [tagOf(k), tagOf(x)])];
}

/** Sorts set members, whose order Python does not keep. */
function canon(tag: unknown): unknown {
  if (!Array.isArray(tag)) return tag;
  const [kind, body] = tag;
  if (kind === "set") {
    return [
      kind,
      (body as unknown[]).map(canon).sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1),
    ];
  }
  if (kind === "list" || kind === "tuple") return [kind, (body as unknown[]).map(canon)];
  if (kind === "dict") return [kind, (body as unknown[][]).map(([k, x]) => [canon(k), canon(x)])];
  return tag;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

// [name, Python expression, what kvwire reads]
const FROM_PYTHON: [string, string, unknown][] = [
  ["str", "'h\\u00e9llo \\u2603'", "héllo ☃"],
  ["bytes", "b'\\x00\\xffab'", Uint8Array.from([0, 255, 97, 98])],
  ["int", "42", 42],
  ["negint", "-7", -7],
  ["bigint", "2**70", 2n ** 70n],
  ["float", "1.5", 1.5],
  ["true", "True", true],
  ["false", "False", false],
  ["none", "None", null],
  ["list", "[1, 'a', [2.5, None]]", [1, "a", [2.5, null]]],
  ["tuple", "(1, 2)", [1, 2]],
  ["dict", "{'a': 1, 'b': [True]}", { a: 1, b: [true] }],
  ["intdict", "{1: 'x', 2: 'y'}", new Map<unknown, unknown>([[1, "x"], [2, "y"]])],
  ["set", "{1, 2, 3}", new Set([1, 2, 3])],
  ["frozenset", "frozenset(['a'])", new Set(["a"])],
  ["bytearray", "bytearray(b'ab')", enc("ab")],
  ["nested", "{'k': ({1: b'x'}, {'s'}), 'big': -2**80}", {
    k: [new Map([[1, enc("x")]]), new Set(["s"])],
    big: -(2n ** 80n),
  }],
];

for (const protocol of [0, 2, 5] as const) {
  test(`values: python-memcached (pickleProtocol ${protocol}) writes every type; kvwire get and getMulti read them`, async () => {
    const prefix = `${RUN}py${protocol}:`;
    await runPython(PY, {
      op: "store",
      server: SERVER,
      protocol,
      items: FROM_PYTHON.map(([name, expr]) => [prefix + name, expr]),
    });
    const mc = await client();
    for (const [name, , expected] of FROM_PYTHON) {
      assert.deepEqual(await mc.get(prefix + name), expected, name);
    }
    const keys = FROM_PYTHON.map(([name]) => prefix + name);
    const many = await mc.getMulti([...keys, `${prefix}missing`]);
    assert.deepEqual([...many.keys()], keys);
    assert.deepEqual([...many.values()], FROM_PYTHON.map(([, , v]) => v));
    // The flags python-memcached chose: text 16, bytes 0, int 2, pickle 1.
    assert.equal((await mc.getRaw(prefix + "str"))?.flags, 16);
    assert.equal((await mc.getRaw(prefix + "bytes"))?.flags, 0);
    assert.equal((await mc.getRaw(prefix + "bigint"))?.flags, 2);
    assert.equal((await mc.getRaw(prefix + "float"))?.flags, 1);
  });
}

const FROM_KVWIRE: [string, unknown][] = [
  ["str", "héllo ☃ \\ \n 😀 \\u0041 \r \0"],
  ["bytes", Uint8Array.from([0, 255, 10, 92])],
  ["emptybytes", new Uint8Array(0)],
  ["int", 42],
  ["bigint", 2n ** 70n],
  ["float", 1.5],
  ["negzero", -0],
  ["inf", -Infinity],
  ["true", true],
  ["none", null],
  ["list", [1, "a \\u0041 \\ \n \r \0 \x1a é ☃ 😀", [2.5, null, Uint8Array.from([1])]]],
  ["dict", { a: 1, b: [true], "": new Map<unknown, unknown>([[7, "x"], [[1, 2], "tuple key"]]) }],
  ["set", new Set([1, "a"])],
  ["longs", [2 ** 31, -(2 ** 31) - 1, 2n ** 64n, -(2n ** 200n), 255, 256, 65535, 65536]],
];

for (const protocol of [0, 1, 2, 3, 4, 5] as const) {
  test(`values: kvwire (pickleProtocol ${protocol}) writes every type; python-memcached get_multi reads them`, async () => {
    const prefix = `${RUN}kv${protocol}:`;
    const mc = await client({ pickleProtocol: protocol });
    for (const [name, value] of FROM_KVWIRE) assert.equal(await mc.set(prefix + name, value), true);
    const read = await runPython<Record<string, Tag>>(PY, {
      op: "read",
      server: SERVER,
      keys: FROM_KVWIRE.map(([name]) => prefix + name),
    });
    for (const [name, value] of FROM_KVWIRE) {
      assert.deepEqual(canon(read[prefix + name]), canon(tagOf(value)), name);
    }
  });
}

test("values: zlib-compressed values cross both ways (flag 8)", async () => {
  const prefix = `${RUN}z:`;
  await runPython(PY, {
    op: "store",
    server: SERVER,
    compress: 100,
    items: [[`${prefix}pytext`, "'x' * 5000"], [`${prefix}pylist`, "list(range(1000))"]],
  });
  const mc = await client({ minCompressLen: 100 });
  assert.equal((await mc.getRaw(`${prefix}pytext`))?.flags, 16 | 8);
  assert.equal((await mc.getRaw(`${prefix}pylist`))?.flags, 1 | 8);
  assert.equal(await mc.get(`${prefix}pytext`), "x".repeat(5000));
  assert.deepEqual(await mc.get(`${prefix}pylist`), Array.from({ length: 1000 }, (_, i) => i));
  await mc.set(`${prefix}kvtext`, "y".repeat(5000));
  await mc.set(`${prefix}kvlist`, Array.from({ length: 1000 }, (_, i) => i * 1.5));
  assert.equal((await mc.getRaw(`${prefix}kvtext`))?.flags, 16 | 8);
  assert.equal((await mc.getRaw(`${prefix}kvlist`))?.flags, 1 | 8);
  const read = await runPython<Record<string, Tag>>(PY, {
    op: "read",
    server: SERVER,
    keys: [`${prefix}kvtext`, `${prefix}kvlist`],
  });
  assert.deepEqual(read[`${prefix}kvtext`], ["str", "y".repeat(5000)]);
  assert.deepEqual(read[`${prefix}kvlist`], tagOf(Array.from({ length: 1000 }, (_, i) => i * 1.5)));
});

test("values: a pickled class instance is refused with UnsafePickleError, never run", async () => {
  const prefix = `${RUN}obj:`;
  await runPython(PY, {
    op: "store",
    server: SERVER,
    protocol: 2,
    items: [[`${prefix}point`, "Point()"], [`${prefix}ok`, "[1]"]],
  });
  const mc = await client();
  const refused = (global: string) => (e: unknown): boolean => {
    assert.ok(e instanceof UnsafePickleError, String(e));
    assert.ok(e instanceof RemoteProtocolError && e instanceof KvError);
    assert.equal(e.global, global);
    assert.match(e.message, /Refusing a pickle that imports .*plain data only/);
    return true;
  };
  await assert.rejects(mc.get(`${prefix}point`), refused("__main__.Point"));
  await assert.rejects(mc.getMulti([`${prefix}ok`, `${prefix}point`]), refused("__main__.Point"));
  // A pickle that would run a command (os.system), stored raw under the pickle flag.
  await mc.set(`${prefix}evil`, "cos\nsystem\n(S'echo pwned'\ntR.", { flags: 1 });
  await assert.rejects(mc.get(`${prefix}evil`), refused("os.system"));
  assert.deepEqual(await mc.get(`${prefix}ok`), [1]);
});

/** Plain data both sides agree on (no set members or dict keys that Python would merge). */
const plain: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
    fc.double(),
    fc.string({ unit: "binary" }),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "grapheme" }), tie("value"), { maxKeys: 4 }),
    fc.uniqueArray(fc.oneof(fc.integer(), fc.string()), { maxLength: 4 }).map((xs) => new Set(xs)),
  ),
})).value;

/** What a value reads back as after a trip through Python (safe bigints become numbers). */
function normalized(v: unknown): unknown {
  if (typeof v === "bigint") return v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v;
  if (Array.isArray(v)) return v.map(normalized);
  if (v instanceof Set || v instanceof Uint8Array || v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalized(x)]));
}

test("pickle codec: fast-check round trips through Python's pickle (every protocol, both ways)", async () => {
  const seed = Date.now();
  const values = fc.sample(plain, { numRuns: 400, seed });
  const protocols = values.map((_, i) => (i % 6) as PickleProtocol);
  const results = await runPython<[Tag, string][]>(PY, {
    op: "loads",
    items: values.map((v, i) => [
      btoa(Array.from(pickle(v, protocols[i]), (b) => String.fromCharCode(b)).join("")),
      protocols[(i + 3) % values.length],
    ]),
  });
  values.forEach((v, i) => {
    const [tag, back] = results[i];
    const context = `seed ${seed}, value ${i}, protocol ${protocols[i]}`;
    assert.deepEqual(canon(tag), canon(tagOf(v)), context);
    const bytes = Uint8Array.from(atob(back), (c) => c.charCodeAt(0));
    assert.deepEqual(unpickle(bytes), normalized(v), context);
  });
});
