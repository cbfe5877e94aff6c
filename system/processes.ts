/**
 * The six processes of TP-SAGA, services first, then orchestrator, then gateway (the order in
 * which they are stopped in reverse). `needs` names the processes whose URLs a process is
 * given at start: it may start as soon as those URLs are known (a fixed port is known at
 * once), because every client connects lazily and waits for its peer.
 */
export const PROCESSES = [
  { name: "catalog", entry: "services/catalog/main.ts", defaultPort: 5001, needs: [] },
  { name: "payments", entry: "services/payments/main.ts", defaultPort: 5002, needs: [] },
  { name: "purchases", entry: "services/purchases/main.ts", defaultPort: 5003, needs: [] },
  { name: "inventory", entry: "services/inventory/main.ts", defaultPort: 5004, needs: [] },
  { name: "orchestrator", entry: "orchestrator/main.ts", defaultPort: 5000, needs: ["catalog", "payments", "purchases", "inventory"] },
  { name: "gateway", entry: "gateway/main.ts", defaultPort: 8000, needs: ["orchestrator"] },
] as const;

export type ProcessName = (typeof PROCESSES)[number]["name"];
export const SERVICE_NAMES = ["catalog", "payments", "purchases", "inventory"] as const satisfies readonly ProcessName[];

/**
 * Node flags of every process. A young generation of up to 32 MiB per semi-space (V8's default
 * is 16 on this machine) lets short-lived per-call garbage die in fewer, cheaper scavenges: on
 * the benchmark at 64 clients, 5–10 % less CPU per saga. The npm start:* scripts and the
 * Dockerfile pass the same flag.
 */
export const NODE_FLAGS = ["--max-semi-space-size=32"] as const;
