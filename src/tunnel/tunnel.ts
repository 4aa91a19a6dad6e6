// One upgraded relay connection: admit, dial, then relay bytes both ways with backpressure
// (protocol in protocol.ts).
//
// Theory of operation: two pumps share the tunnel. Upstream reads the client only when the
// target accepts more (`target.write()` false ⇒ await `ready()` before the next read), so a
// slow target stops the client's TCP. Downstream reads the target only while the client has
// credit and the client socket is under its high-water mark, so a slow client stops the
// target's TCP. Every write to the client (data, pong) waits for the client socket to drain,
// and a client that does not drain within `drainTimeout` is dropped: nothing is buffered for a
// client that does not read. Upstream charges every frame and byte to the client's budget
// (budget.ts) and stops reading while it is spent. `finish()` is idempotent: it sends one close
// frame (unless the client is not reading), half-closes the client, drops the target and lets
// the client drain for a moment before the adapter closes it.

import { concatBytes, utf8Encode } from "../core/bytes.ts";
import { ConnectionClosedError } from "../core/errors.ts";
import type { Transport } from "../core/transport.ts";
import { FrameBudget } from "./budget.ts";
import { type DialAttempt, dialInTurn, type FailureClass } from "./dial.ts";
import { formatTarget } from "./host.ts";
import type { UpgradeRequest } from "./http_head.ts";
import { admit } from "./policy.ts";
import { Control, TUNNEL_PROTOCOL, TunnelCloseCode } from "./protocol.ts";
import type { SessionContext, Who } from "./session.ts";
import {
  encodeCloseFrame,
  encodeFrame,
  encodeFrameHeader,
  Opcode,
  WebSocketFrameDecoder,
  WebSocketProtocolError,
} from "./ws_frames.ts";

/** Default receive window when the client asks for none. */
const DEFAULT_WINDOW = 1024 * 1024;
/** Smallest window a client may ask for. */
const MIN_WINDOW = 1024;
/** Largest binary frame the relay sends. */
const MAX_FRAME = 64 * 1024;
/** How long a closing client may take to hang up before it is dropped. */
const LINGER_MS = 2000;
/** What a closing client may still send before it is dropped. */
const LINGER_BYTES = 64 * 1024;
/** A client socket holding more than this is not reading: it gets no close frame. */
const CLOSE_BACKLOG = 2 * MAX_FRAME;

/** Why a tunnel was not opened, for the client (code, reason) and the log (the rest). */
type Refusal = {
  code: TunnelCloseCode;
  reason: string;
  failure: FailureClass;
  target?: string;
  attempts?: readonly DialAttempt[];
};

/**
 * An upgraded connection: admission, dialling, relaying. `run()` resolves once both sides are
 * done and the client had a moment to hang up. Used by `runSession` after the 101 answer.
 *
 * @example
 * ```ts
 * // inside session.ts, once the upgrade was answered:
 * await new Tunnel(ctx, client, who, upgrade, bytesAfterTheHead).run(offered);
 * ```
 */
export class Tunnel {
  readonly #ctx: SessionContext;
  readonly #client: Transport;
  readonly #who: Who;
  readonly #request: UpgradeRequest;
  readonly #decoder: WebSocketFrameDecoder;
  #target: Transport | undefined;
  #targetText = "";
  #credit = 0;
  #window = DEFAULT_WINDOW;
  #creditWaiter: (() => void) | undefined;
  #clientEnded = false;
  #targetEnded = false;
  #finished = false;
  #done!: () => void;
  readonly #finishedPromise = new Promise<void>((resolve) => (this.#done = resolve));
  #lastActivity = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #bytesUp = 0;
  #bytesDown = 0;
  #started = 0;
  #budget: FrameBudget;
  #framesCharged = 0;
  #bytesUncharged = 0;

  constructor(
    ctx: SessionContext,
    client: Transport,
    who: Who,
    request: UpgradeRequest,
    rest: Uint8Array,
  ) {
    this.#ctx = ctx;
    this.#client = client;
    this.#who = who;
    this.#request = request;
    this.#decoder = new WebSocketFrameDecoder({
      maxMessageSize: ctx.maxMessageSize,
      maxFragments: ctx.maxFragments,
    });
    this.#decoder.push(rest);
    this.#bytesUncharged = rest.length;
    this.#budget = new FrameBudget(ctx.budget, ctx.now());
  }

  async run(offered: boolean): Promise<void> {
    this.#started = this.#ctx.now();
    const refusal = await this.#open(offered);
    if (refusal) {
      this.#ctx.counters.refused();
      const { code, reason, ...details } = refusal;
      this.#ctx.log({ event: "refused", ...this.#who, code, reason, ...details });
      this.#finish(code, reason, false);
    } else {
      this.#ctx.counters.opened();
      this.#send(Opcode.Text, utf8Encode(Control.Open));
      this.#touch();
      void this.#downstream().catch((error) => this.#fail(error));
    }
    await Promise.all([
      this.#upstream().catch((error) => this.#fail(error)),
      this.#finishedPromise,
    ]);
    await this.#linger();
  }

  /** Admits and dials; returns why not, or undefined once the target is connected. */
  async #open(offered: boolean): Promise<Refusal | undefined> {
    const ctx = this.#ctx;
    if (!offered) {
      const reason = `subprotocol ${TUNNEL_PROTOCOL} needed`;
      return { code: TunnelCloseCode.BadRequest, reason, failure: "policy" };
    }
    const windowText = this.#request.query.get("window");
    if (windowText !== null) {
      const window = Number(windowText);
      if (!Number.isInteger(window) || window < MIN_WINDOW || window > ctx.maxWindow) {
        return { code: TunnelCloseCode.BadRequest, reason: "bad window", failure: "policy" };
      }
      this.#window = window;
    }
    this.#credit = this.#window;
    const verdict = await admit(this.#request, {
      secrets: ctx.secrets,
      insecureNoAuth: ctx.insecureNoAuth,
      allow: ctx.allow,
      resolve: ctx.resolve,
      resolveTimeout: ctx.connectTimeout,
      now: ctx.now,
    });
    if (!verdict.ok) {
      const { code, reason, target, failure } = verdict;
      return { code, reason, target, failure };
    }
    this.#targetText = formatTarget(verdict.target);
    const asked = Number(this.#request.query.get("timeout") ?? NaN);
    const timeout = asked > 0 ? Math.min(asked, ctx.connectTimeout) : ctx.connectTimeout;
    const tls = verdict.tls ? { ...ctx.targetTls, serverName: verdict.serverName } : undefined;
    const dialled = await dialInTurn(ctx.connect, verdict.dial, { timeout, tls, now: ctx.now });
    if (!dialled.ok) {
      const { code, reason, failure, attempts } = dialled;
      return { code, reason, target: this.#targetText, failure, attempts };
    }
    this.#target = dialled.transport;
    if (this.#finished) {
      this.#target.close(); // the client hung up while we dialled
      return undefined;
    }
    ctx.log({
      event: "open",
      ...this.#who,
      target: this.#targetText,
      address: dialled.address,
      attempts: dialled.attempts.length > 0 ? dialled.attempts : undefined,
      tls: verdict.tls,
      subject: verdict.subject,
    });
    return undefined;
  }

  /**
   * Client → target. Reads the client only when the target took the last bytes. What one read
   * decodes to goes out in one write each way (data to the target, pongs to the client), so
   * many tiny frames never become many tiny writes queued in a socket.
   */
  async #upstream(): Promise<void> {
    const data: Uint8Array[] = [];
    const pongs: Uint8Array[] = [];
    for (;;) {
      for (let event = this.#decoder.next(); event; event = this.#decoder.next()) {
        if (this.#finished) return;
        switch (event.type) {
          case "data":
            if (!this.#target || this.#clientEnded) {
              throw new WebSocketProtocolError("Data before open or after end", 1002);
            }
            this.#bytesUp += event.bytes.length;
            data.push(event.bytes);
            break;
          case "text":
            await this.#writeTarget(data);
            await this.#control(event.text);
            break;
          case "ping":
            pongs.push(encodeFrame(Opcode.Pong, event.payload));
            break;
          case "pong":
            break;
          case "close":
            this.#finish(event.code === 1005 ? 1000 : event.code, "", true);
            return;
        }
      }
      if (this.#finished) return;
      await this.#writeTarget(data);
      if (pongs.length > 0 && !this.#finished) {
        const more = this.#client.write(concatBytes(pongs));
        pongs.length = 0;
        if (!more) await this.#drainClient();
      }
      if (this.#finished) return;
      await this.#chargeBudget();
      if (this.#finished) return;
      const chunk = await this.#client.read();
      if (chunk === null) {
        this.#finish(1006, "client went away", true);
        return;
      }
      this.#decoder.push(chunk);
      this.#bytesUncharged += chunk.length;
      this.#measure();
    }
  }

  /** Writes (and empties) the data decoded so far to the target; waits while it is full. */
  async #writeTarget(data: Uint8Array[]): Promise<void> {
    if (data.length === 0 || this.#finished) return;
    const bytes = data.length === 1 ? data[0] : concatBytes(data);
    data.length = 0;
    this.#touch();
    const more = this.#target!.write(bytes);
    this.#measure();
    if (!more) await this.#target!.ready();
  }

  /** Charges the frames and bytes decoded since the last charge; waits while over budget. */
  async #chargeBudget(): Promise<void> {
    const frames = this.#decoder.frames - this.#framesCharged;
    this.#framesCharged = this.#decoder.frames;
    let wait = this.#budget.charge(frames, this.#bytesUncharged, this.#ctx.now());
    this.#bytesUncharged = 0;
    while (wait > 0 && !this.#finished) {
      await this.#pause(wait);
      wait = this.#budget.charge(0, 0, this.#ctx.now());
    }
  }

  /** Resolves after `ms`, or as soon as the tunnel finishes. */
  async #pause(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    try {
      await Promise.race([elapsed, this.#finishedPromise]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for the client socket to drain; drops a client that does not within drainTimeout. */
  async #drainClient(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<"stalled">((resolve) => {
      timer = setTimeout(() => resolve("stalled"), this.#ctx.drainTimeout);
    });
    try {
      const drained = this.#client.ready().then(() => "drained" as const, () => "gone" as const);
      const outcome = await Promise.race([drained, stalled, this.#finishedPromise]);
      if (outcome === "stalled") {
        this.#finish(TunnelCloseCode.ClientStalled, "client does not read", false, "client");
      } else if (outcome === "gone") {
        this.#finish(1006, "client went away", true, "client");
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #control(text: string): Promise<void> {
    const credit = /^credit ([1-9][0-9]{0,9})$/.exec(text);
    if (credit && this.#target) {
      this.#credit += Number(credit[1]);
      if (this.#credit > this.#window) {
        throw new WebSocketProtocolError("Credit beyond the window", 1002);
      }
      const waiter = this.#creditWaiter;
      this.#creditWaiter = undefined;
      waiter?.();
    } else if (text === Control.End && this.#target && !this.#clientEnded) {
      this.#clientEnded = true;
      await this.#target.end();
      this.#maybeDone();
    } else {
      throw new WebSocketProtocolError("Unknown control message", 1002);
    }
  }

  /** Target → client. Reads the target only with credit and a drained client socket. */
  async #downstream(): Promise<void> {
    const target = this.#target!;
    for (;;) {
      await this.#waitForCredit();
      if (this.#finished) return;
      const chunk = await target.read();
      if (this.#finished) return;
      if (chunk === null) {
        this.#targetEnded = true;
        this.#send(Opcode.Text, utf8Encode(Control.End));
        this.#maybeDone();
        return;
      }
      this.#touch();
      this.#bytesDown += chunk.length;
      for (let offset = 0; offset < chunk.length;) {
        await this.#waitForCredit();
        if (this.#finished) return;
        const size = Math.min(this.#credit, MAX_FRAME, chunk.length - offset);
        this.#credit -= size;
        // Header and payload apart: the payload goes out without a copy.
        this.#client.write(encodeFrameHeader(Opcode.Binary, size));
        const more = this.#client.write(chunk.subarray(offset, offset + size));
        offset += size;
        this.#measure();
        if (!more) await this.#drainClient();
      }
    }
  }

  #waitForCredit(): Promise<void> {
    if (this.#credit > 0 || this.#finished) return Promise.resolve();
    return new Promise((resolve) => (this.#creditWaiter = resolve));
  }

  #send(opcode: Opcode, payload: Uint8Array): boolean {
    return this.#client.write(encodeFrame(opcode, payload));
  }

  #maybeDone(): void {
    if (this.#clientEnded && this.#targetEnded) this.#finish(1000, "both sides ended", false);
  }

  #touch(): void {
    this.#lastActivity = this.#ctx.now();
    if (this.#idleTimer !== undefined || this.#ctx.idleTimeout <= 0) return;
    const check = (): void => {
      const idle = this.#ctx.now() - this.#lastActivity;
      if (idle >= this.#ctx.idleTimeout) {
        this.#idleTimer = undefined;
        this.#finish(TunnelCloseCode.IdleTimeout, "idle timeout", false);
      } else {
        this.#idleTimer = setTimeout(check, this.#ctx.idleTimeout - idle);
      }
    };
    this.#idleTimer = setTimeout(check, this.#ctx.idleTimeout);
  }

  #measure(): void {
    const target = this.#target?.bufferedAmount ?? 0;
    this.#ctx.counters.buffered(this.#decoder.buffered + this.#client.bufferedAmount + target);
  }

  #fail(error: unknown): void {
    if (this.#finished) return;
    if (error instanceof WebSocketProtocolError) {
      const failure = error.closeCode === TunnelCloseCode.MessageTooBig ? "limit" : "protocol";
      this.#finish(error.closeCode, error.message, false, failure);
    } else if (error instanceof ConnectionClosedError) {
      // One of the two connections broke: a target failure is worth telling the client.
      const reason = "the connection to the target failed";
      this.#finish(TunnelCloseCode.TargetClosed, reason, false, "target");
    } else {
      this.#ctx.log({ event: "error", ...this.#who, message: String(error) });
      this.#finish(TunnelCloseCode.InternalError, "relay error", false);
    }
  }

  /**
   * Ends the tunnel once: a close frame (unless the client is gone or not reading: then it is
   * dropped), drop the target.
   */
  #finish(code: number, reason: string, byClient: boolean, failure?: FailureClass): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#idleTimer);
    this.#creditWaiter?.();
    this.#target?.close();
    if (failure === "client" || this.#client.bufferedAmount > CLOSE_BACKLOG) {
      this.#client.close(); // not reading: no close frame, no linger
    } else if (code !== 1006) {
      try {
        this.#client.write(encodeCloseFrame(code, reason));
        void this.#client.end().catch(() => {});
      } catch {
        // the client socket is already gone
      }
    }
    if (this.#target) {
      this.#ctx.log({
        event: "close",
        ...this.#who,
        target: this.#targetText,
        code,
        reason,
        failure,
        by: byClient ? "client" : "relay",
        bytesUp: this.#bytesUp,
        bytesDown: this.#bytesDown,
        ms: this.#ctx.now() - this.#started,
      });
    }
    this.#done();
  }

  /**
   * Lets a closing client read our close frame and hang up; drops it after a moment, or once
   * it sent more than LINGER_BYTES meanwhile (a flood does not get two more seconds).
   */
  async #linger(): Promise<void> {
    const timer = setTimeout(() => this.#client.close(), LINGER_MS);
    try {
      let discarded = 0;
      for (let chunk = await this.#client.read(); chunk; chunk = await this.#client.read()) {
        discarded += chunk.length;
        if (discarded > LINGER_BYTES) break;
      }
    } catch {
      // closed by the timer or reset by the client: either way we are done
    } finally {
      clearTimeout(timer);
    }
  }
}
