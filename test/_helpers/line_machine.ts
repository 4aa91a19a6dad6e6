// A minimal in-order line protocol machine (request "x\n", reply "y\n") for testing the
// driver without any real protocol: deadlines, cancel, EOF, and a malformed-line error.
import type {
  ConnectionEvent,
  ProtocolConnection,
  SendOptions,
} from "../../src/core/connection.ts";
import { FifoTable } from "../../src/core/correlation.ts";
import { DeadlineHeap } from "../../src/core/deadline_heap.ts";
import { RemoteProtocolError, ServerError } from "../../src/core/errors.ts";
import { ReceiveBuffer } from "../../src/core/receive_buffer.ts";

interface Entry {
  id: number;
  line: string;
  sent: boolean;
  settled: boolean;
}

type Event = ConnectionEvent<string, string, string>;

/** Replies `ERR x` become serverError; a line starting with `!` is a protocol violation. */
export class LineMachine implements ProtocolConnection<string, string, string, string> {
  #buffer = new ReceiveBuffer();
  #outbox: Entry[] = [];
  #inFlight = new FifoTable<Entry>();
  #deadlines = new DeadlineHeap<Entry>((e) => !e.settled);
  #events: Event[] = [];
  #nextId = 1;
  #eof = false;
  #closed = false;
  #failed: Error | undefined;
  readonly sentLines: string[] = [];

  get inFlight(): number {
    return this.#inFlight.size + this.#outbox.length;
  }
  get canSend(): boolean {
    return !this.#closed;
  }
  get wantsRead(): boolean {
    return !this.#closed;
  }
  send(line: string, options: SendOptions = {}): number {
    if (line.includes("\n")) throw new TypeError("Lines cannot contain newlines");
    const entry = { id: this.#nextId++, line, sent: false, settled: false };
    this.#outbox.push(entry);
    if (options.deadline !== undefined) this.#deadlines.push(options.deadline, entry);
    return entry.id;
  }
  cancel(id: number): void {
    for (const e of [...this.#outbox, ...this.#inFlight]) if (e.id === id) e.settled = true;
  }
  close(): void {
    this.#closed = true;
  }
  pollTransmit(): Uint8Array | undefined {
    const lines = this.#outbox.filter((e) => !e.settled);
    this.#outbox = [];
    if (lines.length === 0) return undefined;
    for (const e of lines) {
      e.sent = true;
      this.#inFlight.push(e);
      this.sentLines.push(e.line);
    }
    return new TextEncoder().encode(lines.map((e) => e.line + "\n").join(""));
  }
  receive(chunk: Uint8Array): void {
    this.#buffer.push(chunk);
  }
  receiveEof(): void {
    this.#eof = true;
  }
  pollTimeout(): number | undefined {
    return this.#deadlines.peek();
  }
  handleTimeout(now: number): void {
    for (const e of this.#deadlines.popExpired(now)) {
      e.settled = true;
      this.#events.push({ type: "timeout", id: e.id, sent: e.sent });
    }
  }
  nextEvent(): Event | undefined {
    if (this.#events.length > 0) return this.#events.shift();
    if (this.#failed) throw this.#failed;
    for (;;) {
      const newline = this.#buffer.indexOf(10);
      if (newline === -1) {
        if (this.#eof && !this.#closed) {
          this.#closed = true;
          const partial = this.#buffer.length > 0;
          return partial
            ? { type: "closed", error: new RemoteProtocolError("EOF in the middle of a line") }
            : { type: "closed" };
        }
        return undefined;
      }
      const line = new TextDecoder().decode(this.#buffer.take(newline + 1)).slice(0, -1);
      if (line.startsWith("!")) {
        this.#failed = new RemoteProtocolError(`Malformed line ${JSON.stringify(line)}`);
        throw this.#failed;
      }
      if (line.startsWith("PUSH ")) return { type: "push", value: line.slice(5) };
      const entry = this.#inFlight.shift();
      if (!entry) throw new RemoteProtocolError("Reply without a request");
      if (entry.settled) continue;
      if (line.startsWith("ERR ")) {
        return { type: "serverError", id: entry.id, error: new ServerError(line, "ERR") };
      }
      return { type: "reply", id: entry.id, value: line };
    }
  }
}
