/**
 * `npm run contracts -- 127.0.0.1:5002`: what a running server says of its part in sagas, read
 * through its server reflection; `npm run contracts` alone: the same for the generated code.
 * Prints each RPC's role, compensation, confirmation and key field, then any contract problem
 * (and exits 1 when there is one).
 */
import { checkContracts, formatProblem } from "./check-contracts.js";
import { describeContracts } from "./describe-contracts.js";
import { loadGeneratedFiles } from "./generated-files.js";
import { reflectContracts } from "./reflected-contracts.js";

const USAGE = `usage: npm run contracts -- [host:port]
  host:port  a running gRPC server with reflection (e.g. 127.0.0.1:5002): print its services' saga options
  (none)     print the saga options of the generated code (gen/)`;

const args = process.argv.slice(2);
if (args.length > 1 || args[0] === "--help" || args[0] === "-h") {
  console.error(USAGE);
  process.exit(args.length > 1 ? 2 : 0);
}

try {
  const address = args[0];
  const { services, files, source } = address
    ? await reflectContracts(address).then((r) => ({ services: r.services, files: r.registry.files, source: `${r.url} (server reflection)` }))
    : await loadGeneratedFiles().then((f) => ({ services: f.flatMap((file) => file.services), files: f, source: "gen/ (generated code)" }));
  console.log(`# saga contracts of ${source}\n`);
  console.log(describeContracts(services));
  const problems = checkContracts(files);
  if (problems.length > 0) {
    console.log(`\n${problems.length} contract problem${problems.length === 1 ? "" : "s"}:`);
    for (const problem of problems) console.log(formatProblem(problem));
    process.exitCode = 1;
  }
} catch (err) {
  console.error(`contracts: ${(err as Error).message}`);
  process.exitCode = 1;
}
