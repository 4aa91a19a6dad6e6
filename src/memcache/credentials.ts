// SASL credentials that never show: the password lives in a private field, and inspect,
// console.log, JSON.stringify and String() print a redacted form (Node, Deno and Bun).

import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";

/** What inspection and serialization show in place of the password. */
const REDACTED = "[redacted]";

/**
 * A SASL PLAIN user name and password. `password` is a getter over a private field, so the
 * object's own properties hold no secret; `toJSON`, `toString` and the Node/Bun and Deno
 * custom inspectors print the user name and `[redacted]`.
 *
 * @example
 * ```ts
 * import { SaslCredentials } from "@kvwire/kvwire/memcache";
 * const sasl = new SaslCredentials("app", "s3cret");
 * JSON.stringify(sasl); // '{"username":"app","password":"[redacted]"}'
 * sasl.password; // "s3cret", for the SASL exchange only
 * ```
 */
export class SaslCredentials {
  readonly #username: string;
  readonly #password: string;

  /** Keeps the user name and password; both must be strings. */
  constructor(username: string, password: string) {
    if (typeof username !== "string" || typeof password !== "string") {
      throw new TypeError("SASL username and password must be strings");
    }
    this.#username = username;
    this.#password = password;
  }

  /** The user name. */
  get username(): string {
    return this.#username;
  }

  /** The password, for the SASL exchange. */
  get password(): string {
    return this.#password;
  }

  /** The redacted form JSON.stringify uses. */
  toJSON(): { username: string; password: string } {
    return { username: this.#username, password: REDACTED };
  }

  /** The redacted form String() uses. */
  toString(): string {
    return redactedRendering("SaslCredentials", this.toJSON());
  }

  /** What the inspect hook of Node and Bun (and `console.log` there) shows. */
  [INSPECT_NODE](): string {
    return this.toString();
  }
}
