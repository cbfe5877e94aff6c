// ESLint flat config: typescript-eslint's recommended rules on every TypeScript file, and the
// folder rules of docs/folder-rules.md as no-restricted-imports, so an editor shows a broken
// boundary as it is typed (test/import-boundaries.test.ts stays the check that CI relies on).
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** Who may not import what: the same table as test/import-boundaries.test.ts, as import-specifier patterns. */
const FOLDER_RULES = [
  {
    files: ["orchestrator/engine/**/*.ts"],
    regex: String.raw`^(#gen/|(\.\./)+gen/|\.\./order-saga/|\.\./handlers\.js$|@connectrpc/|@grpc/|(#|(\.\./)+)platform/(?!sqlite\.js$|write-batcher\.js$|page-token\.js$|postgres(-migrations|-write-batcher)?\.js$))`,
    message:
      "the engine is generic: no generated code, no RPC library, no order saga, and from platform only its stores' runtime (sqlite, postgres, their batchers and migrations) and page-token.js",
  },
  ...["catalog", "payments", "purchases", "inventory"].map((service) => ({
    files: [`services/${service}/**/*.ts`],
    regex: String.raw`^(\.\./(?!${service}/)[^./][^/]*/|(\.\./)+(services/(?!${service}/)|orchestrator/|gateway/))`,
    message: "services never import each other, the orchestrator or the gateway",
  })),
  {
    files: ["platform/**/*.ts"],
    regex: String.raw`^(\.\./(services|orchestrator|gateway|system)/|(#|\.\./)gen/saga/)`,
    message: "platform imports no product code",
  },
  {
    files: ["gateway/**/*.ts"],
    regex: String.raw`^\.\./(services/|orchestrator/(?!order-saga/order-saga\.js$))`,
    message: "the gateway talks to the orchestrator over gRPC only (the order saga's step names are the one exception)",
  },
  {
    files: ["console/**/*.ts", "console/**/*.tsx"],
    regex: String.raw`^(node:|(\.\./)+(services|orchestrator|gateway|platform|system)/|#platform/|(#|(\.\./)+)gen/(?!saga/orchestrator/)|@grpc/|@connectrpc/connect-node)`,
    message: "the console runs in a browser and talks to the gateway's Connect API only",
  },
];

export default defineConfig(
  // Generated, installed or recorded files; dist/ in case a build step writes compiled JavaScript there.
  { ignores: ["gen/**", "node_modules/**", "bench/rivals/node_modules/**", "bench/results/**", "data/**", "dist/**"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_` marks an argument a signature needs and the body does not use.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Tests drive grpc-js stubs loaded by proto-loader and raw JSON answers, which carry no types.
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  ...FOLDER_RULES.map(({ files, regex, message }) => ({
    files,
    ignores: ["**/*.test.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ regex, message }] }] },
  })),
);
