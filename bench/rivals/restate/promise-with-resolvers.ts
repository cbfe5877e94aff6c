/**
 * `Promise.withResolvers` for Node 20. @restatedev/restate-sdk 1.17.2 calls it on every
 * invocation but declares no `engines`; it arrived in Node 22 (V8 12.4), so on Node 20 every
 * invocation fails with "TypeError: Promise.withResolvers is not a function". This is the
 * standard behaviour (TC39 proposal, ES2024), installed only when missing.
 */
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };

/** True when the polyfill had to be installed (the report says so). */
export const PROMISE_WITH_RESOLVERS_POLYFILLED = typeof P.withResolvers !== "function";

if (PROMISE_WITH_RESOLVERS_POLYFILLED) {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
      let resolve!: Resolvers<T>["resolve"];
      let reject!: Resolvers<T>["reject"];
      const promise = new this<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
