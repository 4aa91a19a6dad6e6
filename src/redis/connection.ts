// RedisConnection: the sans-I/O RESP2/RESP3 connection machine (DESIGN.md §3): handshake,
// in-order reply matching, deadlines, pub/sub state. Spec: RESP3.md and redis.io pub/sub docs.

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../core/connection.ts";
import { FifoTable } from "../core/correlation.ts";
import { PendingRequests } from "../core/pending_requests.ts";
import { LocalProtocolError, RemoteProtocolError } from "../core/errors.ts";
import { concatBytes } from "../core/bytes.ts";
import { RedisError } from "./errors.ts";
import {
  afterHelloCommands,
  checkHandshakeOptions,
  type HandshakeOptions,
  helloCommand,
  isHelloUnsupported,
  resp2Commands,
} from "./handshake.ts";
import {
  familyOf,
  frameKind,
  invalidationFromFrame,
  messageFromFrame,
  type RedisPush,
  subscriptionFromFrame,
  type SubscriptionKind,
} from "./pubsub_frames.ts";
import { NEED_MORE, RespDecoder } from "./resp_decoder.ts";
import { CommandBuffer, encodeCommand, encodeCommandTo, type RedisArg } from "./resp_encoder.ts";
import { Outbox } from "../core/outbox.ts";
import { RespMap, RespPush, type RespValue } from "./resp_types.ts";
import { replyTypeAllowed, shapeOf } from "./reply_shapes.ts";
import { commandInfo, commandName } from "./command_info.ts";
import { SubscriptionState } from "./subscription_state.ts";
import { type CommandEntry, newEntry } from "./command_entry.ts";

/** A command as its arguments, name first: `["SET", "k", "v"]`. */
export type RedisCommand = readonly RedisArg[];

/** Options of a {@link RedisConnection}. */
export interface RedisConnectionOptions extends HandshakeOptions {
  /** Largest bulk string accepted from the server. Default 512 MiB (Redis's proto-max-bulk-len). */
  maxBulkLength?: number;
  /** Largest element count of an aggregate accepted from the server. Default 2^24. */
  maxAggregateLength?: number;
  /** Deepest nesting accepted from the server. Default 64. */
  maxDepth?: number;
  /**
   * Decode bulk strings of command replies to strings (UTF-8) while parsing, for clients that
   * decode every value. Pub/sub frames and handshake replies keep bytes. Default false.
   */
  textBulks?: boolean;
  /**
   * A connection for `MONITOR` only (see monitor.ts): MONITOR is allowed, and once it is
   * confirmed every line the server streams comes out as a push `{ kind: "monitor" }`.
   */
  monitor?: boolean;
}

/** A MONITOR line: `<seconds>.<micros> [<db> <client>] "arg" ...`. */
const MONITOR_LINE = /^\d+\.\d+ \[\d+ /;

type Phase = "handshake" | "ready" | "closed";

/**
 * The Redis protocol machine. Feed it bytes, pull events and bytes.
 *
 * Theory of operation. Phases: `handshake` (HELLO or the RESP2 steps are in flight; user
 * commands are accepted but held back, so none can run before AUTH/SELECT took effect) →
 * `ready` → `closed`. Every command is encoded in `send` (so bad arguments throw before
 * anything is queued) into an entry that moves outbox → in flight. Replies match in-flight
 * entries in order; an entry that timed out or was cancelled stays in line and its reply is
 * discarded. A subscription command expects one confirmation per channel (or, without
 * channels, per current subscription). In RESP2, subscribed mode admits only subscription
 * commands, PING, QUIT and RESET; messages arrive as arrays. In RESP3 they arrive as push
 * frames and any command may be sent. A protocol violation fails the machine for good.
 *
 * @example
 * ```ts
 * import { RedisConnection } from "@kvwire/kvwire/redis";
 * const conn = new RedisConnection({ protocol: 2 });
 * const id = conn.send(["PING"]);
 * conn.pollTransmit(); // bytes of "*1\r\n$4\r\nPING\r\n"
 * conn.receive(new TextEncoder().encode("+PONG\r\n"));
 * conn.nextEvent(); // { type: "reply", id, value: "PONG" }
 * ```
 */
export class RedisConnection
  implements ProtocolConnection<RedisCommand, RespValue, never, RedisPush> {
  readonly #options: RedisConnectionOptions;
  readonly #decoder: RespDecoder;
  #phase: Phase = "handshake";
  #protocol: 2 | 3;
  #nextId = 1;
  #handshakeOut = new FifoTable<CommandEntry>();
  #handshakePending = 0;
  /** Encoded user commands not yet transmitted; subscriptions go out even if cancelled, since
   * the machine must still count their confirmations. */
  #outbox = new Outbox<CommandEntry, CommandBuffer>(new CommandBuffer(16 * 1024), {
    sendSettled: (entry) => entry.kind !== undefined,
  });
  #inFlight = new FifoTable<CommandEntry>();
  #pending = new PendingRequests<CommandEntry>();
  #events = new FifoTable<ConnectionEvent<RespValue, never, RedisPush>>();
  #eof = false;
  #failure: Error | undefined;
  #closedReported = false;
  readonly #subscriptions = new SubscriptionState();
  #serverInfo: RespMap | undefined;
  /** A MULTI was sent and its EXEC or DISCARD not yet. */
  #inMulti = false;
  /** MONITOR was confirmed: the server streams monitor lines. */
  #monitoring = false;

  /** Creates a machine and queues its handshake. Throws on invalid options. */
  constructor(options: RedisConnectionOptions = {}) {
    checkHandshakeOptions(options);
    this.#options = options;
    this.#protocol = options.protocol ?? 3;
    this.#decoder = new RespDecoder({
      maxBulkLength: options.maxBulkLength,
      maxAggregateLength: options.maxAggregateLength,
      maxDepth: options.maxDepth,
    });
    if (this.#protocol === 3) this.#queueInternal(helloCommand(3, options));
    else this.#queueSteps(resp2Commands(options));
  }

  /** The RESP version in use (2 after a fallback). */
  get protocol(): 2 | 3 {
    return this.#protocol;
  }

  /** The server's HELLO reply (`server`, `version`, `proto`, `id`, `mode`, `role`...). */
  get serverInfo(): RespMap | undefined {
    return this.#serverInfo;
  }

  /** True in RESP2 subscribed mode, where only subscription commands and PING are allowed. */
  get subscribedMode(): boolean {
    if (this.#protocol === 3) return false;
    return this.#subscriptions.pendingCommands > 0 || this.#subscriptions.serverSubscribed;
  }

  /** Bytes received and not yet consumed (0 once closed: a partial reply is released). */
  get bufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  /** User commands sent and not yet settled (handshake steps excluded). */
  get inFlight(): number {
    return this.#phase === "closed" ? 0 : this.#pending.size;
  }

  /** True until the machine is closed. */
  get canSend(): boolean {
    return this.#phase !== "closed";
  }

  /** True until the machine is closed. */
  get wantsRead(): boolean {
    return this.#phase !== "closed";
  }

  /** Encodes a command (throwing before anything is queued) and queues it; returns its id. */
  send(command: RedisCommand, options: SendOptions = {}): number {
    if (this.#phase === "closed") throw new LocalProtocolError("The connection is closed");
    if (command.length === 0) throw new TypeError("A Redis command needs at least its name");
    const info = commandInfo(command[0], command[1]);
    const name = info.name;
    if (info.refused && !(name === "MONITOR" && this.#options.monitor)) {
      throw new LocalProtocolError(`${name} is not supported on a shared connection`);
    }
    if (!info.allowedWhenSubscribed && this.subscribedMode) {
      throw new LocalProtocolError(
        `${name} is not allowed in RESP2 subscribed mode; only (P|S)SUBSCRIBE, ` +
          "(P|S)UNSUBSCRIBE, PING, QUIT and RESET are",
      );
    }
    const start = this.#outbox.writer.length;
    encodeCommandTo(this.#outbox.writer, command); // throws before anything is written
    const entry = newEntry(this.#nextId++, name, false);
    // Inside MULTI every command is answered +QUEUED, so only outside it is a reply checked.
    if (!this.#inMulti) entry.replyTypes = info.replyTypes;
    if (name === "MULTI") this.#inMulti = true;
    else if (name === "EXEC" || name === "DISCARD" || name === "RESET") this.#inMulti = false;
    this.#pending.add(entry, options.deadline);
    this.#outbox.push(entry, start);
    if (info.subscription) this.#planSubscription(entry, info.subscription, command);
    return entry.id;
  }

  #queueInternal(command: readonly RedisArg[]): void {
    const entry = newEntry(this.#nextId++, commandName(command[0]), true);
    entry.bytes = encodeCommand(command);
    this.#handshakePending++;
    this.#handshakeOut.push(entry);
  }

  #queueSteps(commands: (readonly RedisArg[])[]): void {
    for (const command of commands) this.#queueInternal(command);
    if (this.#handshakePending === 0) this.#phase = "ready";
  }

  #planSubscription(
    entry: CommandEntry,
    kind: SubscriptionKind,
    command: readonly RedisArg[],
  ): void {
    entry.kind = kind;
    entry.frames = [];
    entry.expect = this.#subscriptions.plan(kind, command);
  }

  /** Forgets a command: its reply, when it comes, is discarded. */
  cancel(id: number): void {
    this.#pending.cancel(id);
  }

  /**
   * Closes the machine: pending commands are forgotten, nothing more is transmitted, and the
   * bytes of a reply still being received are released.
   */
  close(): void {
    if (this.#phase === "closed") return;
    this.#phase = "closed";
    this.#pending.closeAll(); // entries stay known by id so that wasSent() can still answer
    this.#decoder.discard();
  }

  /** Whether the command's bytes went out (false while held behind the handshake). */
  wasSent(id: number): boolean {
    return this.#pending.get(id)?.transmitted ?? true;
  }

  /** The next bytes to write: the handshake first, then the queued commands, coalesced. */
  pollTransmit(maxBytes = Infinity): Uint8Array | undefined {
    return this.#transmit(maxBytes, false);
  }

  /** As {@link pollTransmit}, but the commands' bytes are a view into the outbound buffer,
   * valid until the next `send`: for transports that copy on write. */
  pollTransmitView(maxBytes = Infinity): Uint8Array | undefined {
    return this.#transmit(maxBytes, true);
  }

  #transmit(maxBytes: number, lend: boolean): Uint8Array | undefined {
    if (this.#phase === "closed") return undefined;
    if (this.#handshakeOut.size > 0) return this.#transmitHandshake();
    if (this.#phase !== "ready") return undefined;
    return this.#outbox.take(maxBytes, this.#moved, undefined, lend);
  }

  readonly #moved = (entry: CommandEntry): void => this.#inFlight.push(entry);

  #transmitHandshake(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let entry = this.#handshakeOut.shift(); entry; entry = this.#handshakeOut.shift()) {
      entry.transmitted = true;
      this.#inFlight.push(entry);
      parts.push(entry.bytes!);
    }
    return parts.length === 1 ? parts[0] : concatBytes(parts);
  }

  /** Buffers bytes from the server; they are parsed by {@link nextEvent}. */
  receive(chunk: Uint8Array): void {
    if (this.#phase !== "closed" && !this.#eof) this.#decoder.push(chunk);
  }

  /** Notes that the server closed its side; `closed` follows the buffered events. */
  receiveEof(): void {
    this.#eof = true;
  }

  /** The earliest pending deadline, or undefined. */
  pollTimeout(): number | undefined {
    return this.#pending.nextDeadline();
  }

  /**
   * Reports a `timeout` event for every command whose deadline has passed at `now`. When the
   * command whose reply comes next timed out while that reply is partly received, the
   * connection closes after the timeouts: a reply nobody waits for (possibly hundreds of
   * megabytes still to come) is not kept.
   */
  handleTimeout(now: number): void {
    const expired = this.#pending.expire(now);
    if (expired.length === 0) return;
    for (const event of expired) this.#events.push(event);
    const head = this.#inFlight.peek();
    if (head?.settled && !head.internal && this.#decoder.midReply && !this.#closedReported) {
      this.#closedReported = true;
      this.#events.push({
        type: "closed",
        error: new RemoteProtocolError(
          `The reply to ${head.name} was still arriving when it timed out ` +
            `(${this.#decoder.bufferedBytes} bytes buffered); the connection is dropped`,
          { sent: true },
        ),
      });
      this.close();
    }
  }

  /** Parses the next reply, push or close; undefined when more bytes are needed. */
  nextEvent(): ConnectionEvent<RespValue, never, RedisPush> | undefined {
    for (;;) {
      const queued = this.#events.shift();
      if (queued) return queued;
      if (this.#failure) throw this.#failure;
      if (this.#closedReported) return undefined;
      let value: RespValue | RespPush | typeof NEED_MORE;
      try {
        this.#decoder.bulkText = this.#options.textBulks === true && this.#phase === "ready" &&
          !(this.#protocol === 2 && this.#expectsFrames());
        value = this.#decoder.next();
      } catch (error) {
        this.#failure = error as Error;
        this.close();
        throw error;
      }
      if (value === NEED_MORE) return this.#endOfInput();
      const event = this.#route(value);
      if (event) return event;
    }
  }

  #endOfInput(): ConnectionEvent<RespValue, never, RedisPush> | undefined {
    if (!this.#eof) return undefined;
    this.#closedReported = true;
    let error: RemoteProtocolError | undefined;
    try {
      this.#decoder.finish();
    } catch (thrown) {
      error = thrown as RemoteProtocolError;
    }
    this.close();
    return error ? { type: "closed", error } : { type: "closed" };
  }

  #route(value: RespValue | RespPush): ConnectionEvent<RespValue, never, RedisPush> | undefined {
    if (this.#monitoring && typeof value === "string" && MONITOR_LINE.test(value)) {
      return { type: "push", value: { type: "push", kind: "monitor", items: [value] } };
    }
    if (value instanceof RespPush) return this.#routeFrame(value.items, true);
    if (this.#protocol === 2 && Array.isArray(value) && this.#expectsFrames()) {
      return this.#routeFrame(value, false);
    }
    return this.#reply(value);
  }

  /** RESP2: an array is a pub/sub frame when the server is subscribed or a subscription
   * command waits for confirmations; otherwise it is the head command's reply. */
  #expectsFrames(): boolean {
    return this.#subscriptions.serverSubscribed || this.#inFlight.peek()?.kind !== undefined;
  }

  /** A pub/sub frame: a message, a confirmation for the head entry, or another push. */
  #routeFrame(
    items: RespValue[],
    isPush: boolean,
  ): ConnectionEvent<RespValue, never, RedisPush> | undefined {
    const kind = frameKind(items) ?? "";
    const invalidation = invalidationFromFrame(kind, items);
    if (invalidation) return { type: "push", value: invalidation };
    const message = messageFromFrame(kind, items);
    if (message) return { type: "push", value: message };
    const subscription = subscriptionFromFrame(kind, items);
    const head = this.#inFlight.peek();
    if (subscription && head?.kind && familyOf(head.kind) === familyOf(subscription.kind)) {
      head.frames!.push(items);
      this.#subscriptions.count(subscription.kind, subscription.count);
      this.#events.push({ type: "push", value: subscription });
      if (--head.expect > 0) return undefined;
      this.#inFlight.shift();
      this.#subscriptions.pendingCommands--;
      this.#pending.finish(head);
      if (!head.settled) this.#events.push({ type: "reply", id: head.id, value: head.frames! });
      return undefined; // both events are queued, in order
    }
    if (subscription) {
      // The server dropped a subscription on its own (e.g. a sharded slot moved).
      const { kind, channel, count } = subscription;
      this.#subscriptions.dropped(kind, channel, count);
      return { type: "push", value: { ...subscription, dropped: true } };
    }
    if (isPush) return { type: "push", value: { type: "push", kind, items } };
    return this.#reply(items); // e.g. ["pong", ""] to PING in subscribed mode
  }

  #reply(value: RespValue): ConnectionEvent<RespValue, never, RedisPush> | undefined {
    const entry = this.#inFlight.shift();
    if (!entry) this.#violation("Redis sent a reply while no command was waiting for one", false);
    if (entry.kind && value instanceof RedisError) {
      // Refused (ACL, arity): nothing was subscribed and no confirmation will follow.
      this.#subscriptions.pendingCommands--;
      this.#pending.finish(entry);
      return entry.settled ? undefined : { type: "serverError", id: entry.id, error: value };
    }
    if (entry.kind) this.#violation(`Redis answered ${entry.name} with a non-subscription reply`);
    if (entry.internal) return this.#handshakeReply(entry, value);
    const types = entry.replyTypes;
    if (types !== undefined && !replyTypeAllowed(types, this.#decoder.lastType)) {
      const type = String.fromCharCode(this.#decoder.lastType);
      this.#violation(
        `Redis answered ${entry.name} with a "${type}" reply, which ${entry.name} never gets: ` +
          "the reply is not its own",
      );
    }
    if (entry.name === "MONITOR" && !(value instanceof RedisError)) {
      if (value !== "OK") this.#violation(`Redis answered MONITOR with ${shapeOf(value)}`);
      this.#monitoring = true;
    }
    this.#pending.finish(entry);
    if (entry.settled) return undefined;
    if (value instanceof RedisError) return { type: "serverError", id: entry.id, error: value };
    if (entry.name === "HELLO" && value instanceof RespMap) this.#noteHello(value);
    if (entry.name === "RESET") this.#subscriptions.forget();
    return { type: "reply", id: entry.id, value };
  }

  #handshakeReply(
    entry: CommandEntry,
    value: RespValue,
  ): ConnectionEvent<RespValue, never, RedisPush> | undefined {
    this.#handshakePending--;
    if (value instanceof RedisError) {
      if (entry.name === "HELLO" && isHelloUnsupported(value)) {
        this.#protocol = 2;
        this.#queueSteps(resp2Commands(this.#options));
        return undefined;
      }
      this.#closedReported = true;
      this.close();
      return {
        type: "closed",
        error: new RedisError(
          `Redis refused ${entry.name} during the handshake: ${value.message}`,
          { cause: value },
        ),
      };
    }
    // The reply's shape proves it answers this step (a stray reply sent before it does not).
    if (entry.name === "HELLO") {
      if (!(value instanceof RespMap)) {
        this.#violation(`Redis answered HELLO with ${shapeOf(value)}`);
      }
      this.#noteHello(value);
      this.#queueSteps(afterHelloCommands(this.#options));
      return undefined;
    }
    if (value !== "OK") this.#violation(`Redis answered ${entry.name} with ${shapeOf(value)}`);
    if (this.#handshakePending === 0) this.#phase = "ready";
    return undefined;
  }

  /**
   * Fails the machine for good with a `RemoteProtocolError` (the connection must close); `sent`
   * when the reply answered a command that was written (and may have run).
   */
  #violation(message: string, sent = true): never {
    const error = new RemoteProtocolError(message, { sent });
    this.#failure = error;
    this.close();
    throw error;
  }

  #noteHello(info: RespMap): void {
    this.#serverInfo = info;
    const proto = info.get("proto");
    if (proto === 2 || proto === 3) this.#protocol = proto;
  }
}
