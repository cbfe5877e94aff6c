/**
 * The Restate SDK endpoint process: serves the `OrderSaga` service over HTTP/2 (h2c) for
 * restate-server to call, and `GET /outcomes` over HTTP/1.1 on a second port for the runner's
 * invariant check. Prints one JSON "listening" line with both URLs.
 *
 * Env: `PORT` (0 = any), `OUTCOMES_PORT` (0 = any), `CATALOG_URL`, `PAYMENTS_URL`,
 * `PURCHASES_URL`, `INVENTORY_URL`; `RESTATE_LOGGING=ERROR` keeps the SDK quiet (at WARN it prints a stack for every compensated saga).
 */
import { PROMISE_WITH_RESOLVERS_POLYFILLED } from "./promise-with-resolvers.js";
import http2 from "node:http2";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as restate from "@restatedev/restate-sdk";
import { orderClientsFromEnv } from "../order-clients.js";
import { orderSteps } from "../order-steps.js";
import { OutcomeLedger } from "../saga-outcome.js";
import { orderSagaService } from "./order-saga-service.js";

const clients = orderClientsFromEnv();
const ledger = new OutcomeLedger();
const sdk = http2.createServer(restate.createEndpointHandler({ services: [orderSagaService(orderSteps(clients), ledger)] }));
const outcomes: Server = createServer((req, res) => {
  if (!ledger.serve(req, res)) res.writeHead(404).end();
});

const listen = (server: http2.Http2Server | Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });

const sdkPort = await listen(sdk, Number(process.env["PORT"] ?? 9080));
const outcomesPort = await listen(outcomes, Number(process.env["OUTCOMES_PORT"] ?? 0));
console.log(
  JSON.stringify({
    msg: "listening",
    url: `http://127.0.0.1:${sdkPort}`,
    outcomesUrl: `http://127.0.0.1:${outcomesPort}`,
    promiseWithResolversPolyfilled: PROMISE_WITH_RESOLVERS_POLYFILLED,
  }),
);

const stop = (): void => {
  outcomes.close();
  sdk.close();
  clients.close();
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
