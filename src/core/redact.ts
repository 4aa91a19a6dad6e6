// Safe renderings for objects that hold secrets (passwords, tokens, keys): the symbols Node,
// Bun and Deno call for a custom `inspect`/`console.log`, and one formatter for them.

/** The symbol Node's and Bun's inspect (and Deno's Node compatibility) calls for a rendering. */
export const INSPECT_NODE: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/** The symbol Deno's `console.log` and `Deno.inspect` call for a rendering. */
export const INSPECT_DENO: unique symbol = Symbol.for("Deno.customInspect");

/**
 * Renders `summary` (a plain object of safe fields) as `Name {...}` for the inspect hooks of
 * an object that holds secrets, so that what is printed is exactly what `toJSON` returns.
 *
 * @example
 * ```ts
 * import { INSPECT_DENO, INSPECT_NODE, redactedRendering } from "@kvwire/kvwire";
 * class Vault {
 *   #password = "s3cret";
 *   toJSON(): { user: string } {
 *     return { user: "app" };
 *   }
 *   [INSPECT_NODE](): string {
 *     return redactedRendering("Vault", this.toJSON());
 *   }
 *   [INSPECT_DENO](): string {
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
