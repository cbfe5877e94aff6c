/**
 * The DBOS process: launches DBOS with its system database on PostgreSQL, registers the order
 * saga workflow, and serves `POST /saga` (run one saga, answer its outcome: 200 COMPLETED, 409
 * COMPENSATED, 400 bad order) and `GET /outcomes` with node:http. Prints one JSON "listening" line.
 *
 * Env: `DBOS_SYSTEM_DATABASE_URL` (required), `DBOS_SYSTEM_DATABASE_POOL_SIZE` (absent: DBOS's default,
 * 10), `PORT` (0 = any), `CATALOG_URL`, `PAYMENTS_URL`,
 * `PURCHASES_URL`, `INVENTORY_URL`, `DBOS_LOG_LEVEL` (default "error": DBOS logs a warning with a
 * stack for every refused step otherwise).
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { ConnectError } from "@connectrpc/connect";
import { normaliseOrder, type OrderInput } from "../../../orchestrator/order-saga/order-input.js";
import { orderClientsFromEnv } from "../order-clients.js";
import { orderSteps } from "../order-steps.js";
import { OutcomeLedger } from "../saga-outcome.js";
import { registerOrderSagaWorkflow } from "./order-saga-workflow.js";

const systemDatabaseUrl = process.env["DBOS_SYSTEM_DATABASE_URL"];
if (!systemDatabaseUrl) throw new Error("DBOS_SYSTEM_DATABASE_URL is not set");

const clients = orderClientsFromEnv();
const ledger = new OutcomeLedger();
const poolSize = process.env["DBOS_SYSTEM_DATABASE_POOL_SIZE"];
if (poolSize !== undefined && !/^[1-9]\d{0,3}$/.test(poolSize))
  throw new Error(`DBOS_SYSTEM_DATABASE_POOL_SIZE=${JSON.stringify(poolSize)} is not a whole number from 1 to 9999`);
DBOS.setConfig({
  name: "tp-saga-rivals",
  systemDatabaseUrl,
  logLevel: process.env["DBOS_LOG_LEVEL"] ?? "error",
  ...(poolSize === undefined ? {} : { systemDatabasePoolSize: Number(poolSize) }),
});
const orderSaga = registerOrderSagaWorkflow(orderSteps(clients));
await DBOS.launch();

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

const server = createServer((req, res) => {
  if (ledger.serve(req, res)) return;
  const answer = (status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.method !== "POST" || req.url !== "/saga") return answer(404, { error: "not found" });
  void (async () => {
    let order: OrderInput;
    try {
      order = normaliseOrder(JSON.parse(await readBody(req)) as OrderInput);
    } catch (err) {
      if (err instanceof ConnectError) return answer(400, { error: err.rawMessage });
      if (err instanceof SyntaxError || err instanceof TypeError) return answer(400, { error: err.message });
      throw err;
    }
    const outcome = await orderSaga(order);
    ledger.record({ ...outcome, order });
    answer(outcome.status === "COMPLETED" ? 200 : 409, outcome);
  })().catch((err: unknown) => {
    console.error(JSON.stringify({ level: "error", msg: "saga failed", error: String((err as Error).stack ?? err) }));
    if (!res.headersSent) answer(500, { error: "internal error" });
  });
});

server.listen(Number(process.env["PORT"] ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}` }));
});

const stop = (): void => {
  server.close();
  void DBOS.shutdown()
    .catch(() => undefined)
    .finally(() => {
      clients.close();
      process.exit(0);
    });
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
