// What the JavaScript sockets of Bun cost before any client runs: a bare Bun.connect socket that
// writes prepared RESP commands (one write per burst) and scans the replies (simple strings,
// bulk strings, decoded to text or left as bytes), next to kvwire and Bun.RedisClient, on the
// scenarios where Bun's native client is hard to beat. Two rungs between the bare socket and
// the client show where kvwire's cost comes from: kvwire's Bun transport under the same scanner
// ("transport"), and the driver with the Redis machine, replies as bytes ("driver+machine").
// Same harness as scripts/bench/redis.ts.
// Run: node_modules/.bin/bun scripts/bench/bun_floor.ts [seconds per turn] [rounds] [--cpu]
//      (--cpu: CPU microseconds per op of each process instead of ops/s; lower is better)

import process from "node:process";
import { concatBytes } from "../../src/core/bytes.ts";
import { Driver } from "../../src/core/driver.ts";
import type { Transport } from "../../src/core/transport.ts";
import { RedisConnection } from "../../src/redis/connection.ts";
import { connectBun } from "../../transports/bun.ts";
import { startRedis } from "../servers.ts";
import {
  cpuPerOp,
  flag,
  measure,
  medianTurns,
  positional,
  printRatios,
  printSummary,
  serveWorker,
  startWorker,
  type Worker,
} from "./isolate.ts";
import { connectContender } from "./redis_contenders.ts";

const SMALL_VALUE = "v".repeat(100);
const LARGE_VALUE = "v".repeat(16 * 1024);
const RAW = "raw socket";
const RAW_BYTES = "raw socket, bytes";
const TRANSPORT = "transport";
const MACHINE = "driver+machine";
const NAMES = ["kvwire", "Bun.RedisClient", RAW, RAW_BYTES, TRANSPORT, MACHINE];
const CR = 13;
/** `--cpu`: report CPU microseconds per op (lower is better) instead of ops/s. */
const CPU = process.argv.includes("--cpu");
const UNIT = CPU ? "CPU µs/op" : "ops/s";
const utf8 = new TextDecoder();

/** The two calls the scenarios make. */
interface Calls {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
}

const scenarios: { name: string; depth: number; call: (c: Calls) => Promise<unknown> }[] = [
  { name: "100 concurrent GETs, 100 B", depth: 100, call: (c) => c.get("floor:small") },
  {
    name: "100 concurrent SETs, 100 B",
    depth: 100,
    call: (c) => c.set("floor:set", SMALL_VALUE),
  },
  { name: "100 concurrent GETs, 16 KiB", depth: 100, call: (c) => c.get("floor:large") },
  { name: "one GET at a time, 100 B", depth: 1, call: (c) => c.get("floor:small") },
];

/**
 * A Bun socket with no client: commands coalesced per microtask, replies scanned in place. On
 * kvwire's transport (`over`), the transport queues what the socket did not take.
 */
class RawSocket implements Calls {
  #socket!: { write(data: Uint8Array): number };
  #transport: Transport | undefined;
  readonly #text: boolean;
  #waiting: ((value: unknown) => void)[] = [];
  #next = 0;
  #out: string[] = [];
  #unwritten: Uint8Array | undefined;
  /** The start of a reply whose header line is cut by the end of a chunk. */
  #header: Uint8Array | undefined;
  /** A bulk string cut by the end of a chunk: its parts, and the bytes still to come. */
  #parts: Uint8Array[] = [];
  #missing = 0;

  constructor(text: boolean) {
    this.#text = text;
  }

  /** Reads and writes through kvwire's Bun transport instead of a bare socket. */
  async openTransport(host: string, port: number): Promise<void> {
    const transport = await connectBun({ host, port });
    this.#transport = transport;
    const reader = {
      resolve: (chunk: Uint8Array | null) => {
        if (chunk === null) return;
        this.#receive(chunk);
        transport.readInto!(reader);
      },
      reject: () => {},
    };
    transport.readInto!(reader);
  }

  async open(host: string, port: number): Promise<void> {
    const bun = (globalThis as unknown as { Bun: { connect(o: unknown): Promise<never> } }).Bun;
    const socket = await bun.connect({
      hostname: host,
      port,
      socket: {
        binaryType: "uint8array",
        data: (_: unknown, chunk: Uint8Array) => this.#receive(chunk),
        drain: () => this.#write(this.#unwritten!),
      },
    }) as { write(data: Uint8Array): number; setNoDelay(on: boolean): void };
    socket.setNoDelay(true);
    this.#socket = socket;
  }

  get(key: string): Promise<unknown> {
    return this.#send(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`);
  }

  set(key: string, value: string): Promise<unknown> {
    return this.#send(
      `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`,
    );
  }

  #send(command: string): Promise<unknown> {
    if (this.#out.push(command) === 1) queueMicrotask(this.#flush);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  readonly #flush = (): void => {
    const bytes = new TextEncoder().encode(this.#out.join(""));
    this.#out.length = 0;
    if (this.#unwritten) this.#unwritten = concatBytes([this.#unwritten, bytes]);
    else this.#write(bytes);
  };

  #write(bytes: Uint8Array): void {
    if (this.#transport) {
      this.#transport.write(bytes);
      return;
    }
    const n = Math.max(0, this.#socket.write(bytes));
    this.#unwritten = n < bytes.length ? bytes.subarray(n) : undefined;
  }

  #reply(value: unknown): void {
    this.#waiting[this.#next++](value);
    if (this.#next === this.#waiting.length) this.#waiting.length = this.#next = 0;
  }

  #value(bytes: Uint8Array): unknown {
    return this.#text ? utf8.decode(bytes) : bytes;
  }

  #receive(chunk: Uint8Array): void {
    let p = 0;
    if (this.#missing > 0) {
      const n = Math.min(this.#missing, chunk.length);
      this.#parts.push(chunk.subarray(0, n));
      this.#missing -= n;
      p = n;
      if (this.#missing > 0) return;
      const whole = concatBytes(this.#parts);
      this.#parts = [];
      this.#reply(this.#value(whole.subarray(0, whole.length - 2)));
    }
    if (this.#header) {
      chunk = concatBytes([this.#header, chunk.subarray(p)]); // rare: a header line cut in two
      this.#header = undefined;
      p = 0;
    }
    while (p < chunk.length) {
      const cr = chunk.indexOf(CR, p);
      if (cr === -1 || cr + 1 >= chunk.length) {
        this.#header = chunk.slice(p);
        return;
      }
      const type = chunk[p];
      if (type !== 0x24) { // `+OK` (or an error line, reported as its text)
        this.#reply(utf8.decode(chunk.subarray(p + 1, cr)));
        p = cr + 2;
        continue;
      }
      if (chunk[p + 1] === 0x2d) { // $-1: null
        this.#reply(null);
        p = cr + 2;
        continue;
      }
      let length = 0;
      for (let i = p + 1; i < cr; i++) length = length * 10 + chunk[i] - 48;
      const start = cr + 2;
      const end = start + length + 2;
      if (end > chunk.length) {
        this.#parts.push(chunk.subarray(start));
        this.#missing = end - chunk.length;
        return;
      }
      this.#reply(this.#value(chunk.subarray(start, end - 2)));
      p = end;
    }
  }
}

/** kvwire's driver and Redis machine on its Bun transport, without the client (bytes out). */
async function machineCalls(host: string, port: number): Promise<Calls> {
  const driver = new Driver(new RedisConnection({ protocol: 2 }), await connectBun({ host, port }));
  return {
    get: (key) => driver.request(["GET", key], {}, "GET"),
    set: (key, value) => driver.request(["SET", key, value], {}, "SET"),
  };
}

async function connect(name: string, host: string, port: number): Promise<Calls> {
  if (name === MACHINE) return await machineCalls(host, port);
  if (name !== RAW && name !== RAW_BYTES && name !== TRANSPORT) {
    return await connectContender(name, host, port);
  }
  const raw = new RawSocket(name !== RAW_BYTES);
  if (name === TRANSPORT) await raw.openTransport(host, port);
  else await raw.open(host, port);
  return raw;
}

async function worker(name: string, address: string): Promise<void> {
  const [host, port] = address.split(":");
  const c = await connect(name, host, Number(port));
  await c.set("floor:small", SMALL_VALUE);
  await c.set("floor:large", LARGE_VALUE);
  await serveWorker(
    scenarios.map(({ depth, call }) => async () => {
      const batch = new Array(depth);
      for (let i = 0; i < depth; i++) batch[i] = call(c);
      await Promise.all(batch);
      return depth;
    }),
    () => {},
    CPU ? cpuPerOp : measure,
  );
}

async function main(): Promise<void> {
  const [secondsArg, roundsArg] = positional();
  const seconds = Number(secondsArg ?? 0.3);
  const rounds = Number(roundsArg ?? 15);
  const server = await startRedis();
  const address = `${server.host}:${server.port}`;
  const workers = new Map<string, Worker>();
  try {
    for (const name of NAMES) {
      const args = [`--worker=${name}`, `--redis=${address}`, ...(CPU ? ["--cpu"] : [])];
      workers.set(name, await startWorker(process.argv[1], args));
    }
    console.log(
      `Bun socket floor (${UNIT}): each contender in a process of its own; median of ${rounds} ` +
        `turns of ${seconds} s, taken in turn`,
    );
    const rows = [];
    for (const [index, scenario] of scenarios.entries()) {
      const results = await medianTurns(workers, NAMES, index, rounds, seconds * 1000);
      printRatios(scenario.name, results, "kvwire", UNIT);
      rows.push({ scenario: scenario.name, results });
    }
    printSummary(rows, "kvwire", NAMES.slice(1), UNIT);
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await server.stop();
  }
}

const workerName = flag("worker");
if (workerName) await worker(workerName, flag("redis")!);
else await main();
process.exit(0);
