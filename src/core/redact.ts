// Safe renderings for objects that hold secrets (passwords, tokens, keys): the symbol every
// runtime's inspect and `console.log` call for a custom rendering, and one formatter for it.

/**
 * The registered symbol `util.inspect` and `console.log` call for a rendering: Node and Bun, and
 * Deno too (it honours the same symbol), so one method covers every runtime.
 */
export const INSPECT_NODE: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/**
 * Renders `summary` (a plain object of safe fields) as `Name {...}` for the inspect hooks of
 * an object that holds secrets, so that what is printed is exactly what `toJSON` returns.
 *
 * @example
 * ```ts
 * import { INSPECT_NODE, redactedRendering } from "@kvwire/kvwire";
 * class Vault {
 *   #password = "s3cret";
 *   toJSON(): { user: string } {
 *     return { user: "app" };
 *   }
 *   [INSPECT_NODE](): string {
 *     return redactedRendering("Vault", this.toJSON());
 *   }
 * }
 * console.log(new Vault()); // Vault {"user":"app"}
 * ```
 */
export function redactedRendering(name: string, summary: object): string {
  return `${name} ${
    JSON.stringify(summary, (_key, value) => (typeof value === "bigint" ? `${value}n` : value))
  }`;
}
