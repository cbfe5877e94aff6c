/**
 * Typed configuration from environment variables. The only module that reads
 * `process.env`: every process declares what it needs and gets a frozen, typed object, or
 * fails at start-up with one error that lists every bad variable.
 */

/** How one variable is read: its default, and how its text becomes a value. */
export interface EnvField<T> {
  readonly default: T | undefined;
  readonly parse: (text: string) => T;
  readonly describe: string;
  /** The value may hold a credential: a bad value is named, never shown. */
  readonly secret?: boolean;
}

/** A string; `fallback` undefined makes it required. */
export function text(fallback?: string): EnvField<string> {
  return { default: fallback, parse: (s) => s, describe: "a string" };
}

/** An integer in [min, max]. */
export function integer(fallback: number | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): EnvField<number> {
  return {
    default: fallback,
    describe: `an integer from ${min} to ${max}`,
    parse: (s) => {
      const n = Number(s);
      if (!/^-?\d+$/.test(s.trim()) || n < min || n > max) throw new Error();
      return n;
    },
  };
}

/** A decimal number in [min, max]. */
export function decimal(fallback: number, min: number, max: number): EnvField<number> {
  return {
    default: fallback,
    describe: `a number from ${min} to ${max}`,
    parse: (s) => {
      const n = Number(s);
      if (s.trim() === "" || !Number.isFinite(n) || n < min || n > max) throw new Error();
      return n;
    },
  };
}

/** One of a closed set of words. */
export function oneOf<const T extends string>(fallback: T, choices: readonly T[]): EnvField<T> {
  return {
    default: fallback,
    describe: `one of ${choices.join(", ")}`,
    parse: (s) => {
      if (!(choices as readonly string[]).includes(s)) throw new Error();
      return s as T;
    },
  };
}

/**
 * An optional PostgreSQL connection URL (`postgres://` or `postgresql://`); "" when absent.
 * Secret: it may carry a password, so a malformed one is reported without its text.
 */
export function postgresUrl(): EnvField<string> {
  return {
    default: "",
    secret: true,
    describe: "a PostgreSQL URL such as postgresql://user@127.0.0.1:5432/saga (value not shown: it may hold a password)",
    parse: (s) => {
      let url: URL;
      try {
        url = new URL(s.trim());
      } catch {
        throw new Error();
      }
      if (
        (url.protocol !== "postgres:" && url.protocol !== "postgresql:") ||
        (url.hostname === "" && !url.searchParams.has("host")) ||
        url.pathname.length <= 1
      )
        throw new Error();
      return s.trim();
    },
  };
}

/** Thrown when variables are missing or malformed; the message lists every one. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Values<S> = { readonly [K in keyof S]: S[K] extends EnvField<infer T> ? T : never };

/**
 * Reads every variable of `spec` from `env` (default `process.env`).
 * @throws ConfigError naming each missing or malformed variable.
 */
export function readEnv<S extends Record<string, EnvField<unknown>>>(spec: S, env: Record<string, string | undefined> = process.env): Values<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, field] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || raw === "") {
      if (field.default === undefined) problems.push(`${name} is required (${field.describe})`);
      else out[name] = field.default;
      continue;
    }
    try {
      out[name] = field.parse(raw);
    } catch {
      problems.push(field.secret ? `${name} is not ${field.describe}` : `${name}=${JSON.stringify(raw)} is not ${field.describe}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`bad configuration: ${problems.join("; ")}`);
  return Object.freeze(out) as Values<S>;
}
