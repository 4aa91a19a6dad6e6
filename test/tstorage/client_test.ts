// TStorageClient against the simulator: put/puta/getAcq/get/getIter/getStream, the per-field
// key range, memory limits, invalid records, refused requests, concurrency, URLs and TLS.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { createTlsFiles } from "../../scripts/servers.ts";
import { TlsError } from "../../src/core/errors.ts";
import { TStorageClient } from "../../src/tstorage/client.ts";
import { connect } from "../../transports/auto.ts";
import {
  MemoryLimitError,
  partialData,
  ResponseStatus,
  responseStatusOf,
  TStorageError,
} from "../../src/tstorage/errors.ts";
import { Key, type TStorageRecord } from "../../src/tstorage/record.ts";
import {
  type SimulatorOptions,
  startTStorageSimulator,
  type TStorageSimulator,
} from "../fixtures/tstorage/simulator.ts";

const sims: TStorageSimulator[] = [];
const clients: TStorageClient<unknown>[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(sims.map((s) => s.stop()));
});

async function setup(
  options: SimulatorOptions = {},
): Promise<[TStorageClient<Uint8Array>, TStorageSimulator]> {
  const sim = await startTStorageSimulator({ port: 0, ...options });
  sims.push(sim);
  const client = await TStorageClient.connect({ host: sim.host, port: sim.port });
  clients.push(client as TStorageClient<unknown>);
  return [client, sim];
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const rec = (key: Key, value: string): TStorageRecord<Uint8Array> => ({ key, value: enc(value) });
const show = (records: readonly TStorageRecord<Uint8Array>[]): string[] =>
  records.map((r) => `${r.key.cid}/${r.key.mid}/${r.key.moid}/${r.key.cap}=${dec(r.value)}`);

test("tstorage client: put stores records with server acqs; get returns them and ACQ0", async () => {
  const [client, sim] = await setup();
  const before = await client.getAcq(Key.min(), Key.max());
  const put = await client.put([rec(new Key(1, 2n, 3, 4n), "abc"), rec(new Key(1, 2n, 3, 5n), "")]);
  assert.equal(put.written, 2);
  assert.deepEqual(put.skipped, []);
  assert.ok(put.acqMin > before && put.acqMax > put.acqMin, "server acqs from its clock");
  const { data, acq } = await client.get(Key.min(), Key.max());
  assert.deepEqual(show(data), ["1/2/3/4=abc", "1/2/3/5="]);
  assert.deepEqual(data.map((r) => r.key.acq), [put.acqMin, put.acqMax]);
  assert.ok(acq > put.acqMax, "ACQ0 is the server's now");
  assert.equal(sim.records.length, 2);
});

test("tstorage client: puta keeps the given acq; getAcq clamps to key_max.acq", async () => {
  const [client] = await setup();
  const result = await client.puta([
    rec(new Key(2, 1n, 1, 1n, 5n), "x"),
    rec(new Key(2, 1n, 1, 1n, 20n), "y"),
  ]);
  assert.deepEqual([result.acqMin, result.acqMax], [-1n, -1n], "as the vendor mock answers PUTA");
  const upTo15 = new Key(3, 2n, 2, 2n, 15n);
  assert.equal(await client.getAcq(new Key(0, 0n, 0, 0n, 0n), upTo15), 15n);
  assert.equal(await client.getAcq(new Key(0, 0n, 0, 0n, 0n), upTo15.with({ acq: 100n })), 100n);
  const { data, acq } = await client.get(new Key(0, 0n, 0, 0n, 0n), upTo15);
  assert.deepEqual(data.map((r) => r.key.acq), [5n], "acq 20 is outside [0, 15)");
  assert.equal(acq, 15n);
});

test("tstorage client: getAcq answers the vendor's integration cases (an empty box is OK)", async () => {
  // python/tests/integration/test_channels.py get_acq, written against a real server.
  const [client] = await setup();
  assert.ok(await client.getAcq(Key.min(), Key.max()) >= 0n);
  assert.ok(await client.getAcq(new Key(0, 0n, 0, 0n, 0n), Key.max().with({ cid: 0 })) >= 0n);
  assert.ok(
    await client.getAcq(new Key(0, 0n, 0, 0n, 0n), new Key(2, 13n, 4, 11n, Key.max().acq)) >= 0n,
  );
  assert.equal(await client.getAcq(new Key(0, 0n, 0, 0n, 0n), new Key(2, 13n, 4, 11n, 15n)), 15n);
  assert.equal(
    await client.getAcq(new Key(0, 12n, 2, 10n, 10n), new Key(1, 13n, 3, 11n, 100n)),
    100n,
  );
  await assert.rejects(
    client.getAcq(new Key(-1, 12n, 2, 10n, 10n), new Key(1, 13n, 3, 11n, 100n)),
    TStorageError,
    "a negative cid is refused by the server",
  );
});

test("tstorage client: a record of 1 MiB goes through the client and the simulator intact", async () => {
  const [client] = await setup();
  const payload = new Uint8Array(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + 17) & 0xff;
  const key = new Key(9, 1n, 1, 1n);
  assert.equal((await client.put([{ key, value: payload }])).written, 1);
  const { data } = await client.get(new Key(9, 0n, 0, 0n, 0n), Key.max().with({ cid: 10 }));
  assert.equal(data.length, 1);
  assert.equal(data[0].value.length, payload.length);
  assert.deepEqual(data[0].value, payload);
});

test("tstorage client: receiveBufferSize is each read's size (the vendor's recv_buffer_size)", async () => {
  const sim = await startTStorageSimulator({ port: 0 });
  sims.push(sim);
  const reads: number[] = [];
  const readSizes: (number | undefined)[] = [];
  const client = await TStorageClient.connect({
    host: sim.host,
    port: sim.port,
    receiveBufferSize: 4096,
    connect: async (address, options) => {
      readSizes.push(options?.readSize);
      const transport = await connect(address, options);
      const read = transport.read.bind(transport);
      return Object.assign(transport, {
        readInto: undefined,
        read: async () => {
          const chunk = await read();
          if (chunk) reads.push(chunk.length);
          return chunk;
        },
      });
    },
  });
  clients.push(client as TStorageClient<unknown>);
  const payload = new Uint8Array(256 * 1024).fill(7);
  await client.put([{ key: new Key(9, 1n, 1, 1n), value: payload }]);
  reads.length = 0;
  const { data } = await client.get(Key.min(), Key.max());
  assert.deepEqual(data[0].value, payload);
  assert.deepEqual(readSizes, [4096]);
  assert.ok(reads.length >= 64 && Math.max(...reads) <= 4096, `reads of ${Math.max(...reads)} B`);
  assert.throws(() => new TStorageClient({ port: 1, receiveBufferSize: 0 }), RangeError);
  assert.throws(() => new TStorageClient({ port: 1, receiveBufferSize: 2.5 }), /receiveBuffer/);
});

test("tstorage client: the range is per field, not lexicographic", async () => {
  const [client] = await setup();
  await client.puta([
    rec(new Key(0, 1n, 1, 1n, 1n), "in"),
    rec(new Key(0, 34n, 3, 10n, 14n), "in too"),
    rec(new Key(0, 36n, 0, 0n, 0n), "mid out"),
    rec(new Key(0, 1n, 5, 0n, 0n), "moid out"),
    rec(new Key(1, 0n, 0, 0n, 0n), "cid out"),
    rec(Key.min(), "min"),
  ]);
  const { data } = await client.get(new Key(0, 0n, 0, 0n, 0n), new Key(1, 35n, 4, 11n, 15n));
  assert.deepEqual(data.map((r) => dec(r.value)), ["in", "in too"]);
  const all = await client.get(Key.min(), Key.max());
  assert.equal(all.data.length, 6, "Key.min() is stored and returned");
});

test("tstorage client: skipInvalid writes the valid records and reports the invalid ones", async () => {
  const [client, sim] = await setup();
  const bad = rec(new Key(-1, 2n, 3, 4n), "b");
  const result = await client.put([
    rec(new Key(1, 2n, 3, 4n), "a"),
    bad,
    rec(new Key(2, 2n, 3, 4n), "c"),
  ], {
    skipInvalid: true,
  });
  assert.equal(result.written, 2);
  assert.equal(result.skipped.length, 1);
  assert.equal(result.skipped[0], bad, "the caller's own record object");
  assert.deepEqual(sim.records.map((r) => r.cid), [1, 2], "the group after the invalid one too");
  // The session is intact: the next request is understood.
  assert.equal((await client.get(Key.min(), Key.max())).data.length, 2);
  assert.equal(sim.connections, 1, "same connection throughout");
});

test("tstorage client: without skipInvalid an invalid record rejects with RangeError, nothing sent", async () => {
  const [client, sim] = await setup();
  await assert.rejects(
    client.puta([rec(new Key(1, 2n, 3, 4n, 5n), "a"), rec(new Key(1, 2n, 3, 4n, 2n ** 63n), "b")]),
    (e: unknown) => e instanceof RangeError && /Record 1 has an invalid key/.test(e.message),
  );
  // Only the connection check (a GET_ACQ) reached the server.
  assert.deepEqual(sim.requests, { get: 0, getAcq: 1, put: 0, puta: 0 });
  assert.equal((await client.put([])).written, 0, "and the connection still works");
});

test("tstorage client: maxBatchSize splits a cid's records into several batches", async () => {
  const [client, sim] = await setup();
  const records = Array.from(
    { length: 50 },
    (_, i) => rec(new Key(1, BigInt(i), 0, 0n), "v".repeat(i)),
  );
  await client.put(records, { maxBatchSize: 100 });
  assert.equal(sim.records.length, 50);
  assert.deepEqual(sim.records.map((r) => r.payload.length), records.map((_, i) => i));
});

test("tstorage client: get over memoryLimit fails with NO_MEMORY, keeps partial data, reconnects", async () => {
  const [client, sim] = await setup();
  await client.put(Array.from({ length: 8 }, (_, i) => rec(new Key(1, BigInt(i), 3, 4n), "abcd")));
  // 8 records with 4-byte payloads: 12 + 8 * 40 + 4 + 20 = 356 bytes.
  assert.equal((await client.get(Key.min(), Key.max(), { memoryLimit: 356 })).data.length, 8);
  client.memoryLimit = 355;
  const error = await client.get(Key.min(), Key.max()).catch((e) => e);
  assert.ok(error instanceof MemoryLimitError, String(error));
  assert.equal(responseStatusOf(error), ResponseStatus.NO_MEMORY);
  assert.match(error.message, /memory limit of 355 bytes/);
  assert.equal(partialData(error).length, 8, "every record fitted; the confirmation did not");
  const small = await client.get(Key.min(), Key.max(), { memoryLimit: 80 }).catch((e) => e);
  assert.equal(partialData(small).length, 1);
  client.memoryLimit = undefined;
  assert.equal((await client.get(Key.min(), Key.max())).data.length, 8);
  assert.equal(sim.accepted, 3, "each NO_MEMORY closed the connection, as the seed does");
  assert.throws(() => (client.memoryLimit = 0), RangeError);
});

test("tstorage client: getIter yields records as they come and sets acq at the end", async () => {
  const [client] = await setup();
  await client.put(
    Array.from({ length: 3000 }, (_, i) => rec(new Key(1, BigInt(i), 0, 0n), `${i}`)),
  );
  const it = client.getIter(Key.min(), Key.max());
  let n = 0;
  for await (const record of it) {
    assert.equal(dec(record.value), `${n++}`);
    assert.equal(it.acq, undefined);
  }
  assert.equal(n, 3000);
  assert.equal(typeof it.acq, "bigint");
});

test("tstorage client: leaving getIter early closes that GET, and the next call reconnects", async () => {
  const [client, sim] = await setup();
  await client.put(
    Array.from({ length: 5000 }, (_, i) => rec(new Key(1, BigInt(i), 0, 0n), "x".repeat(50))),
  );
  let seen = 0;
  for await (const _ of client.getIter(Key.min(), Key.max())) if (++seen === 10) break;
  assert.equal(seen, 10);
  assert.equal(sim.accepted, 1);
  assert.equal((await client.get(Key.min(), new Key(2, 3n, 1, 1n, Key.max().acq))).data.length, 3);
  assert.equal(sim.accepted, 2, "the abandoned GET's connection was replaced");
});

test("tstorage client: getIter is bounded by memoryLimit like get and fails after the records that fit", async () => {
  const [client] = await setup();
  await client.put(Array.from({ length: 4 }, (_, i) => rec(new Key(1, BigInt(i), 0, 0n), "abcd")));
  const seen: string[] = [];
  const it = client.getIter(Key.min(), Key.max(), { memoryLimit: 100 });
  await assert.rejects(async () => {
    for await (const r of it) seen.push(String(r.key.mid));
  }, MemoryLimitError);
  assert.deepEqual(seen, ["0", "1"], "12 + 2 * 40 ≤ 100 < 12 + 3 * 40");
  assert.equal(it.acq, undefined);
});

test("tstorage client: getStream hands out batches within the memory limit and returns ACQ0", async () => {
  const [client] = await setup();
  await client.put(
    Array.from({ length: 100 }, (_, i) => rec(new Key(1, BigInt(i), 0, 0n), "abcd")),
  );
  const batches: number[] = [];
  const acq = await client.getStream(Key.min(), Key.max(), async (batch) => {
    batches.push(batch.length);
    await new Promise((resolve) => setTimeout(resolve, 1)); // a slow consumer
  }, { memoryLimit: 400 });
  assert.equal(typeof acq, "bigint");
  assert.equal(batches.reduce((a, b) => a + b, 0), 100);
  assert.ok(batches.every((n) => n * 40 <= 400), `batches ${batches}`);
  assert.equal(batches[0], 9, "the first batch also counts the 12-byte head");
  const one: number[] = [];
  await client.getStream(Key.min(), Key.max(), (b) => void one.push(b.length), {
    memoryLimit: null,
  });
  assert.deepEqual(one, [100], "no limit: one callback at the end");
});

test("tstorage client: a getStream callback that throws ends the call with its error", async () => {
  const [client] = await setup();
  await client.put(Array.from({ length: 50 }, (_, i) => rec(new Key(1, BigInt(i), 0, 0n), "abcd")));
  let calls = 0;
  await assert.rejects(
    client.getStream(Key.min(), Key.max(), () => {
      if (++calls === 2) throw new Error("consumer gave up");
    }, { memoryLimit: 200 }),
    /consumer gave up/,
  );
  assert.equal(calls, 2);
  assert.equal((await client.get(Key.min(), Key.max())).data.length, 50);
});

test("tstorage client: refused GETs are ERROR (mock framing) or BAD_REQUEST (header framing)", async () => {
  for (const [framing, status] of [["mock", -1], ["header", 129]] as const) {
    const [client] = await setup({ getErrorFraming: framing });
    const emptyRange = client.get(new Key(0, 0n, 0, 0n, 0n), Key.max().with({ cid: 0 }));
    const error = await emptyRange.catch((e) => e);
    assert.ok(error instanceof TStorageError, String(error));
    assert.equal(error.status, status);
    assert.equal(responseStatusOf(error), status);
    assert.equal(await client.getAcq(Key.min(), new Key(1, 1n, 1, 1n, 1n)), 1n, "reconnected");
  }
});

test("tstorage client: refused GET_ACQ and PUT are ERROR; the next call runs on a new connection", async () => {
  const [client, sim] = await setup({ closeOnError: false });
  await assert.rejects(
    client.getAcq(Key.max(), Key.min()),
    (e: unknown) =>
      e instanceof TStorageError && e.status === ResponseStatus.ERROR && e.wireStatus === -1,
  );
  sim.inject({ type: "status", status: -1 });
  await assert.rejects(client.put([rec(new Key(1), "a")]), TStorageError);
  assert.equal(sim.records.length, 0);
  assert.equal((await client.put([rec(new Key(1), "a")])).written, 1, "the next call works");
  assert.equal(sim.accepted, 3, "each refusal ended its connection (the vendor mock closes it)");
});

test("tstorage client: the call right after a refusal (the server then closes) reconnects and succeeds", async () => {
  const [client, sim] = await setup(); // closes after refusing, like the vendor mock
  for (let i = 1; i <= 20; i++) {
    await assert.rejects(client.getAcq(Key.max(), Key.min()), TStorageError);
    assert.equal(await client.getAcq(Key.min(), new Key(1, 1n, 1, 1n, BigInt(i))), BigInt(i));
  }
  sim.inject({ type: "status", status: -1 });
  await assert.rejects(client.put([rec(new Key(1), "a")]), TStorageError);
  assert.equal((await client.put([rec(new Key(1), "b")])).written, 1);
  assert.equal(sim.requests.put, 2, "nothing was sent twice");
});

test("tstorage client: concurrent calls run one at a time and all get their own answers", async () => {
  const [client] = await setup();
  const puts = Array.from(
    { length: 20 },
    (_, i) => client.put([rec(new Key(1, BigInt(i), 0, 0n), `${i}`)]),
  );
  const gets = Array.from({ length: 5 }, () => client.get(Key.min(), Key.max()));
  const acqs = Array.from(
    { length: 5 },
    () => client.getAcq(Key.min(), new Key(9, 9n, 9, 9n, 42n)),
  );
  const [putResults, getResults, acqResults] = await Promise.all([
    Promise.all(puts),
    Promise.all(gets),
    Promise.all(acqs),
  ]);
  assert.ok(putResults.every((r) => r.written === 1));
  for (const g of getResults) assert.equal(g.data.length, 20, "the puts went first (FIFO)");
  assert.deepEqual(acqResults, [42n, 42n, 42n, 42n, 42n]);
});

test("tstorage client: URLs, a missing port, and TLS with the server's CA", async () => {
  assert.throws(() => new TStorageClient({}), /no default port/);
  assert.throws(() => new TStorageClient("tstorage://127.0.0.1"), /no default port/);
  const dir = mkdtempSync(join(tmpdir(), "kvwire-tstorage-tls-"));
  try {
    const files = await createTlsFiles(dir);
    const sim = await startTStorageSimulator({
      port: 0,
      tls: { key: readFileSync(files.keyFile, "utf8"), cert: readFileSync(files.certFile, "utf8") },
    });
    sims.push(sim);
    await assert.rejects(TStorageClient.connect(`tstorages://127.0.0.1:${sim.port}`), TlsError);
    const verified = await TStorageClient.connect({
      url: `tstorages://127.0.0.1:${sim.port}`,
      tls: { ca: readFileSync(files.caFile, "utf8") },
    });
    clients.push(verified as TStorageClient<unknown>);
    await verified.put([rec(new Key(1, 1n, 1, 1n), "secret")]);
    assert.deepEqual(show((await verified.get(Key.min(), Key.max())).data), ["1/1/1/1=secret"]);
    await verified.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tstorage client: a TLS client key never shows through inspect, JSON, String or options", async () => {
  const SECRET = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----";
  const tls = { ca: "CA-PEM", cert: "CERT-PEM", key: SECRET };
  const client = new TStorageClient({ port: 1, tls, reconnect: { enabled: false } });
  clients.push(client as TStorageClient<unknown>);
  const shown = [
    inspect(client, { depth: 10, showHidden: true }),
    JSON.stringify(client),
    String(client),
    inspect(client.options, { depth: 10 }),
    JSON.stringify(client.options),
  ];
  for (const text of shown) assert.ok(!text.includes("c2VjcmV0"), text);
  assert.match(shown[0], /TStorageClient \{"server":"tstorage 127\.0\.0\.1:1","tls":true/);
  assert.equal(
    client.options.tls && typeof client.options.tls === "object" && client.options.tls.key,
    "[redacted]",
  );
  assert.equal(tls.key, SECRET, "the caller's object is left alone");
  const error = await client.getAcq(Key.min(), Key.max(), { timeout: 2000 }).catch((e) => e);
  for (let e: unknown = error; e; e = (e as Error).cause) {
    assert.ok(!inspect(e, { depth: 10 }).includes("c2VjcmV0"), inspect(e));
  }
});

test("tstorage client: a tstorages:// URL with tls: false is refused", () => {
  assert.throws(
    () => new TStorageClient({ url: "tstorages://127.0.0.1:2025", tls: false }),
    /contradicts/,
  );
});
