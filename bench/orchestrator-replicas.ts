/**
 * What several orchestrator replicas on one PostgreSQL saga log need before the bench can run
 * them: each replica owning its sagas with a lease (the orchestrator reads `REPLICA_ID`), and a
 * gateway that spreads its calls over several orchestrator addresses (`ORCHESTRATOR_URL` as a
 * comma-separated list, through the platform's gRPC client). Without either, N replicas would be
 * a different system from the one deployed, so the bench refuses them and says what is missing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";

/** Whether the orchestrator's sources read `REPLICA_ID` (its composition root or its engine). */
function orchestratorReadsReplicaId(root: string): boolean {
  const files = [
    join(root, "orchestrator", "main.ts"),
    ...readdirSync(join(root, "orchestrator", "engine"))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
      .map((f) => join(root, "orchestrator", "engine", f)),
  ];
  return files.some((f) => readFileSync(f, "utf8").includes("REPLICA_ID"));
}

/** Whether the platform's gRPC client (the gateway's) accepts two comma-separated addresses. */
function clientAcceptsAddressList(): boolean {
  try {
    const client = createServiceClient(OrchestratorService, "http://127.0.0.1:9,http://127.0.0.1:10");
    client.close();
    return true;
  } catch {
    return false;
  }
}

/** What is missing for `replicas` orchestrators on one log; empty when they can run (always for one). */
export function missingForReplicas(root: string, replicas: number): string[] {
  if (replicas <= 1) return [];
  const missing: string[] = [];
  if (!orchestratorReadsReplicaId(root)) {
    missing.push("orchestrator replicas that own their sagas with leases and fencing (the orchestrator reading REPLICA_ID and LEASE_MS)");
  }
  if (!clientAcceptsAddressList()) {
    missing.push("a gateway that spreads calls over several orchestrators (ORCHESTRATOR_URL as a comma-separated list of addresses)");
  }
  return missing;
}
