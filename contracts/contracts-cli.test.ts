import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { DescService } from "@bufbuild/protobuf";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { checkContracts } from "./check-contracts.js";
import { buildImage, copyFixtures, type FixtureTree } from "./fixture-image.js";
import { reflectContracts, serverUrl } from "./reflected-contracts.js";
import { BUF, ROOT } from "./repository-root.js";
import { roleName, sagaMethodOf } from "./saga-method.js";

const run = promisify(execFile);
const CLI = join(ROOT, "contracts", "contracts-cli.ts");

// The ledger fixture served by the platform's own gRPC server (reflection included), on port 0,
// beside the generated catalog service, which carries no saga option on this branch's protos.
let tree: FixtureTree;
let server: GrpcServer;
let address: string;

beforeAll(async () => {
  tree = copyFixtures();
  const registry = await buildImage(tree);
  const ledger = registry.getService("saga.fixture.ledger.v1.LedgerService")!;
  server = await startGrpcServer({
    services: [
      { service: ledger, handlers: {} },
      { service: CatalogService, handlers: {} },
    ],
    port: 0,
    log: createLogger("contracts-test", "silent"),
  });
  address = `127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server?.close();
  tree?.remove();
});

const row = (service: DescService, rpc: string): string => {
  const option = sagaMethodOf(service.methods.find((m) => m.name === rpc)!);
  return option
    ? `${roleName(option.role)} ${option.compensation || "-"} ${option.confirmation || "-"} ${option.idempotencyKeyField || "-"}`
    : "(none)";
};

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("node", ["--import", "tsx", CLI, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("saga options through server reflection", () => {
  it("serve the service's file and the options file it imports, with every option intact", async () => {
    const reflected = await reflectContracts(address);
    const ledger = reflected.services.find((s) => s.typeName === "saga.fixture.ledger.v1.LedgerService")!;
    expect(ledger.file.proto.dependency).toContain("saga/options/v1/options.proto");
    expect(reflected.registry.getFile("saga/options/v1/options.proto")).toBeDefined();
    expect(ledger.methods.map((m) => `${m.name}: ${row(ledger, m.name)}`)).toEqual([
      "HoldFunds: ACTION ReleaseFunds SettleFunds hold_key",
      "ReleaseFunds: COMPENSATION - - hold_key",
      "SettleFunds: CONFIRMATION - - hold_key",
      "WriteNote: ACTION EraseNote - note_key",
      "EraseNote: COMPENSATION - - note_key",
      "QuoteFee: READ - - -",
      "StampTime: ACTION - - -",
      "Exchange: TRANSPORT - - -",
    ]);
    expect(checkContracts(reflected.registry)).toEqual([]);
    expect(reflected.services.map((s) => s.typeName)).toEqual(expect.arrayContaining(["saga.catalog.v1.CatalogService", "grpc.health.v1.Health"]));
  });

  it("npm run contracts prints each RPC's role, compensation, confirmation and key field", { timeout: 120_000 }, async () => {
    const { code, stdout } = await cli(address);
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe(`# saga contracts of http://${address} (server reflection)`);
    const table = lines.slice(lines.indexOf("saga.fixture.ledger.v1.LedgerService (valid/ledger.proto)"));
    expect(
      table.slice(0, 10).map((l) =>
        l
          .split(/\s{2,}/)
          .filter(Boolean)
          .join(" | "),
      ),
    ).toEqual([
      "saga.fixture.ledger.v1.LedgerService (valid/ledger.proto)",
      "RPC | ROLE | COMPENSATION | CONFIRMATION | KEY FIELD",
      "HoldFunds | ACTION | ReleaseFunds | SettleFunds | hold_key",
      "ReleaseFunds | COMPENSATION | - | - | hold_key",
      "SettleFunds | CONFIRMATION | - | - | hold_key",
      "WriteNote | ACTION | EraseNote | - | note_key",
      "EraseNote | COMPENSATION | - | - | note_key",
      "QuoteFee | READ | - | - | -",
      "StampTime | ACTION (no side effect) | - | - | -",
      "Exchange | TRANSPORT | - | - | -",
    ]);
    expect(stdout).toContain("saga.catalog.v1.CatalogService (saga/catalog/v1/catalog.proto)");
    expect(stdout).toMatch(/No saga option on any RPC of: grpc\.health\.v1\.Health,/);
  });

  it(
    "npm run contracts says what is wrong with a bad address or an unreachable server, and exits 1; alone, it reads gen/",
    { timeout: 120_000 },
    async () => {
      // Three processes at once: each spends most of its time starting node and tsx.
      const [bad, down, usage, generated] = await Promise.all([cli("localhost"), cli("127.0.0.1:1"), cli("a", "b"), cli()]);
      expect(bad).toMatchObject({
        code: 1,
        stderr: 'contracts: "localhost" is not a server address; give host:port, e.g. 127.0.0.1:5002 (plaintext HTTP/2 only)\n',
      });
      expect(down.code).toBe(1);
      expect(down.stderr).toContain("contracts: [unavailable]");
      expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining("usage: npm run contracts -- [host:port]") });
      // Without an address it describes the generated code, and finds no problem there.
      expect(generated.code).toBe(0);
      expect(generated.stdout.split("\n")[0]).toBe("# saga contracts of gen/ (generated code)");
      expect(generated.stdout).toContain("saga.payments.v1.PaymentsService");
    },
  );

  it("buf curl lists the methods and answers a raw reflection request for the options file", { timeout: 120_000 }, async () => {
    const curl = (...args: string[]) => run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { cwd: ROOT });
    const { stdout: methods } = await curl("--list-methods", `http://${address}`);
    expect(methods.trim().split("\n")).toEqual(
      expect.arrayContaining(["saga.fixture.ledger.v1.LedgerService/HoldFunds", "saga.fixture.ledger.v1.LedgerService/Exchange"]),
    );
    const { stdout: reply } = await curl(
      "-d",
      '{"fileByFilename":"saga/options/v1/options.proto"}',
      `http://${address}/grpc.reflection.v1.ServerReflection/ServerReflectionInfo`,
    );
    const answer = JSON.parse(reply) as { fileDescriptorResponse?: { fileDescriptorProto: string[] } };
    const first = Buffer.from(answer.fileDescriptorResponse!.fileDescriptorProto[0]!, "base64").toString("latin1");
    expect(first).toContain("saga/options/v1/options.proto");
    expect(first).toContain("idempotency_key_field");
  });

  it("parses host:port and http URLs, and nothing else", () => {
    expect(serverUrl("127.0.0.1:5002")).toBe("http://127.0.0.1:5002");
    expect(serverUrl("http://localhost:5002")).toBe("http://localhost:5002");
    expect(() => serverUrl("https://127.0.0.1:5002")).toThrow('"https://127.0.0.1:5002" is not a server address');
    expect(() => serverUrl("127.0.0.1:5002/path")).toThrow("is not a server address");
  });
});
