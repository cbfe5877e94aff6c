import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { UNFINISHED_SAGA_STATUSES } from "../system/invariants.js";

/**
 * Waits until the orchestrator has no RUNNING, COMPENSATING or CONFIRMING saga (a 202 answer leaves one
 * behind), polling every 200 ms for at most `maxMs`. Returns how many were still unfinished
 * (0 when idle).
 */
export async function waitForIdle(orchestratorUrl: string, maxMs: number): Promise<number> {
  const client = createServiceClient(OrchestratorService, orchestratorUrl, { timeoutMs: 10_000 });
  const deadline = Date.now() + maxMs;
  try {
    for (;;) {
      const page = await client.listSagas({ statuses: [...UNFINISHED_SAGA_STATUSES], pageSize: 1000, pageToken: "" });
      const left = page.sagas.length;
      if (left === 0 || Date.now() >= deadline) return left;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    client.close();
  }
}
