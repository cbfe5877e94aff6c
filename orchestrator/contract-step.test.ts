import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DescMethodUnary, DescService, FileRegistry } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport, type HandlerContext } from "@connectrpc/connect";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import { buildImage, copyFixtures, type FixtureTree } from "../contracts/fixture-image.js";
import { contractStep, type ContractClient } from "./contract-step.js";
import { SagaDefinitionError } from "./engine/errors.js";
import type { Json } from "./engine/json.js";
import { createRunner } from "./engine/runner.js";
import { defineSaga, type SagaStep, type StepContext } from "./engine/saga.js";
import { InMemorySagaStore } from "./engine/saga-store.js";

// The ledger fixture (contracts/testdata/valid/ledger.proto), compiled by buf and served by a
// real handler object over Connect's in-memory router transport.
let tree: FixtureTree;
let registry: FileRegistry;
let ledger: DescService;
let calls: string[];
let client: ContractClient;

const unary = (service: DescService, name: string): DescMethodUnary => {
  const method = service.methods.find((m) => m.name === name);
  if (method?.methodKind !== "unary") throw new Error(`no unary ${name} in ${service.typeName}`);
  return method as DescMethodUnary;
};

type Request = Record<string, unknown>;

beforeAll(async () => {
  tree = copyFixtures();
  registry = await buildImage(tree);
  ledger = registry.getService("saga.fixture.ledger.v1.LedgerService")!;
  calls = [];
  const held = new Map<string, bigint>();
  // Each handler records what it was called with, including that a deadline came with the call.
  const record = (rpc: string, fields: string, ctx: HandlerContext): void => {
    calls.push(`${rpc}(${fields})${ctx.timeoutMs() === undefined ? " without deadline" : ""}`);
  };
  // A service loaded at run time has no generated handler types, hence the cast below.
  const transport = createRouterTransport((router) =>
    router.service(ledger, {
      holdFunds(req: Request, ctx: HandlerContext) {
        record("HoldFunds", `hold_key=${req.holdKey}, account_id=${req.accountId}, amount_cents=${req.amountCents}`, ctx);
        if (req.accountId === "closed") throw new ConnectError("account closed", Code.FailedPrecondition);
        held.set(req.holdKey as string, req.amountCents as bigint);
        return { holdKey: req.holdKey, heldCents: req.amountCents };
      },
      releaseFunds(req: Request, ctx: HandlerContext) {
        record("ReleaseFunds", `hold_key=${req.holdKey}`, ctx);
        return { released: held.delete(req.holdKey as string) };
      },
      settleFunds(req: Request, ctx: HandlerContext) {
        record("SettleFunds", `hold_key=${req.holdKey}`, ctx);
        return { settled: held.has(req.holdKey as string) };
      },
      writeNote(req: Request, ctx: HandlerContext) {
        record("WriteNote", `note_key=${req.noteKey}, text=${req.text}`, ctx);
        return {};
      },
      eraseNote(req: Request, ctx: HandlerContext) {
        record("EraseNote", `note_key=${req.noteKey}`, ctx);
        return {};
      },
      quoteFee(req: Request, ctx: HandlerContext) {
        record("QuoteFee", `amount_cents=${req.amountCents}`, ctx);
        return { feeCents: (req.amountCents as bigint) / 100n };
      },
      stampTime(_req: Request, ctx: HandlerContext) {
        record("StampTime", "", ctx);
        return { unixMs: 1_700_000_000_000n };
      },
    } as never),
  );
  client = createClient(ledger, transport) as unknown as ContractClient;
});
afterAll(() => tree.remove());

interface Transfer {
  account: string;
  cents: number;
}

function context(key: string, input: Transfer): StepContext<Transfer> {
  return { sagaId: "saga-1", key, input, results: {}, attempt: 1, timeoutMs: 5_000, signal: new AbortController().signal };
}

const hold = (): SagaStep<Transfer> =>
  contractStep("hold-funds", client, unary(ledger, "HoldFunds"), {
    request: ({ input }) => ({ accountId: input.account, amountCents: BigInt(input.cents) }),
    output: (response) => ({ heldCents: Number((response as unknown as { heldCents: bigint }).heldCents) }),
  });

describe("contractStep", () => {
  it("takes the compensation and the confirmation from the contract", () => {
    const s = hold();
    expect(s.name).toBe("hold-funds");
    expect(typeof s.compensate).toBe("function");
    expect(typeof s.confirm).toBe("function");
    const note: SagaStep<Transfer> = contractStep("note", client, unary(ledger, "WriteNote"), { request: () => ({ text: "x" }) });
    expect([typeof note.compensate, note.confirm]).toEqual(["function", undefined]);
  });

  it("gives a READ and an action without side effect neither compensation nor confirmation", () => {
    for (const rpc of ["QuoteFee", "StampTime"]) {
      const s: SagaStep<Transfer> = contractStep(rpc, client, unary(ledger, rpc), { request: () => ({}) });
      expect([s.compensate, s.confirm], rpc).toEqual([undefined, undefined]);
    }
  });

  it("puts the step's key in the action's key field, passes the deadline, and journals the output", async () => {
    calls.length = 0;
    const output = await hold().action(context("saga-1:hold-funds", { account: "acct-7", cents: 1200 }));
    expect(output).toEqual({ heldCents: 1200 });
    expect(calls).toEqual(["HoldFunds(hold_key=saga-1:hold-funds, account_id=acct-7, amount_cents=1200)"]);
  });

  it("calls the confirmation with only the key", async () => {
    calls.length = 0;
    await hold().confirm!(context("saga-1:hold-funds", { account: "acct-7", cents: 1200 }));
    expect(calls).toEqual(["SettleFunds(hold_key=saga-1:hold-funds)"]);
  });

  it("runs in a saga: a later failure calls each contract's compensation with the step's key, in reverse order", async () => {
    calls.length = 0;
    const definition = defineSaga<Transfer>("transfer", 1, [
      contractStep("quote", client, unary(ledger, "QuoteFee"), {
        request: ({ input }) => ({ amountCents: BigInt(input.cents) }),
        output: (response) => ({ feeCents: Number((response as unknown as { feeCents: bigint }).feeCents) }),
      }),
      hold(),
      contractStep("note", client, unary(ledger, "WriteNote"), { request: ({ input }) => ({ text: `transfer of ${input.cents}` }) }),
      contractStep("close", client, unary(ledger, "HoldFunds"), { request: () => ({ accountId: "closed", amountCents: 1n }) }),
    ]);
    const runner = createRunner({
      store: new InMemorySagaStore(),
      definitions: [definition],
      isRetryable: (err) => ConnectError.from(err).code === Code.Unavailable,
      describeError: (err) => ({ code: Code[ConnectError.from(err).code] ?? "UNKNOWN", message: ConnectError.from(err).rawMessage }),
      sleep: async () => {},
    });
    try {
      const { saga } = await runner.start("transfer", { input: { account: "acct-9", cents: 5000 } as unknown as Json });
      const done = await runner.wait(saga.sagaId, 10_000);
      expect(done?.status).toBe("COMPENSATED");
      expect(done?.results.quote).toEqual({ feeCents: 50 });
      const id = saga.sagaId;
      expect(calls).toEqual([
        "QuoteFee(amount_cents=5000)",
        `HoldFunds(hold_key=${id}:hold-funds, account_id=acct-9, amount_cents=5000)`,
        `WriteNote(note_key=${id}:note, text=transfer of 5000)`,
        `HoldFunds(hold_key=${id}:close, account_id=closed, amount_cents=1)`,
        `ReleaseFunds(hold_key=${id}:close)`,
        `EraseNote(note_key=${id}:note)`,
        `ReleaseFunds(hold_key=${id}:hold-funds)`,
      ]);
    } finally {
      await runner.close();
    }
  });

  it("refuses, at definition time, an RPC that is not a READ or an ACTION", () => {
    expect(() => contractStep("undo", client, unary(ledger, "ReleaseFunds"), { request: () => ({}) })).toThrow(
      new SagaDefinitionError(
        'step "undo": saga.fixture.ledger.v1.LedgerService.ReleaseFunds is a COMPENSATION; a step\'s action must be a READ or an ACTION',
      ),
    );
  });

  it("refuses a streaming RPC", () => {
    const exchange = ledger.methods.find((m) => m.name === "Exchange") as unknown as DescMethodUnary;
    expect(() => contractStep("stream", client, exchange, { request: () => ({}) })).toThrow(
      /LedgerService\.Exchange is bidi_streaming; a step calls a unary RPC/,
    );
  });

  it("refuses an RPC whose contract carries no saga option", () => {
    const health = createClient(
      Health,
      createRouterTransport(() => {}),
    ) as unknown as ContractClient;
    expect(() => contractStep("check", health, Health.method.check, { request: () => ({}) })).toThrow(
      'step "check": grpc.health.v1.Health.Check carries no (saga.options.v1.saga) option',
    );
  });

  it("refuses an action of a contract that breaks the option's rules, naming the problem", () => {
    const broken = registry.getService("saga.fixture.broken.wrong_role.v1.BrokenService")!;
    expect(() => contractStep("hold", client, unary(broken, "Hold"), { request: () => ({}) })).toThrow(
      /breaks the saga option's rules:\nbroken\/wrong-role\.proto: .*\.Hold: names compensation "Settle", which has role CONFIRMATION/,
    );
  });

  it("refuses a client that lacks the compensation", () => {
    const partial = { holdFunds: () => Promise.resolve({}) } as ContractClient;
    expect(() => contractStep("hold", partial, unary(ledger, "HoldFunds"), { request: () => ({}) })).toThrow(
      "LedgerService.HoldFunds needs the client to have releaseFunds(), and it does not",
    );
  });

  it("types request() by the generated method's request (tsc checks the expect-error), and still refuses an RPC without the option", () => {
    expect(() =>
      // @ts-expect-error -- `nope` is not a field of PriceOrderRequest
      contractStep("price", client, CatalogService.method.priceOrder, { request: () => ({ nope: 1 }) }),
    ).toThrow(SagaDefinitionError);
  });
});
