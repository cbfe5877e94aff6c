/**
 * docker-compose.cluster.yml agrees with the code: its databases are the ones
 * `npm run start:cluster` uses (default prefix), every peer list parses as grpc-js targets, and
 * each list names exactly the addresses of that peer's replicas.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parsePeerAddresses } from "../platform/peer-addresses.js";
import { clusterDatabaseUrls } from "../system/cluster-databases.js";

const compose = readFileSync(new URL("../docker-compose.cluster.yml", import.meta.url), "utf8");

/** The fixed address of each container: name → IPv4. */
function addresses(): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of compose.matchAll(/^ {2}([a-z0-9-]+):\n(?:(?! {2}[a-z]).*\n)*? +networks: \{ saga: \{ ipv4_address: ([\d.]+) \} \}/gm))
    found.set(m[1]!, m[2]!);
  return found;
}

describe("docker-compose.cluster.yml", () => {
  it("uses the databases start:cluster creates, one per service and the saga log", () => {
    const expected = clusterDatabaseUrls("postgresql://postgres@postgres:5432/postgres", "tp_saga");
    const used = new Set([...compose.matchAll(/DATABASE_URL: "?(postgresql:\/\/[^"\s]+)"?/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.values(expected).sort());
    for (const url of Object.values(expected)) expect(compose).toContain(new URL(url).pathname.slice(1));
  });

  it("gives every peer the addresses of all its replicas, as a list grpc-js takes", () => {
    const ip = addresses();
    expect(ip.size).toBe(1 + 8 + 3 + 1); // postgres, 2 × 4 services, 3 orchestrators, gateway
    const peers: Record<string, [string, number, number]> = {
      CATALOG_URL: ["catalog", 5001, 2],
      PAYMENTS_URL: ["payments", 5002, 2],
      PURCHASES_URL: ["purchases", 5003, 2],
      INVENTORY_URL: ["inventory", 5004, 2],
      ORCHESTRATOR_URL: ["orchestrator", 5000, 3],
    };
    for (const [variable, [name, port, replicas]] of Object.entries(peers)) {
      const values = new Set([...compose.matchAll(new RegExp(`${variable}: "([^"]+)"`, "g"))].map((m) => m[1]!));
      expect(values.size, variable).toBe(1);
      const wanted = Array.from({ length: replicas }, (_, i) => `${ip.get(`${name}-${i + 1}`)}:${port}`);
      expect(parsePeerAddresses([...values][0]!).addresses, variable).toEqual(wanted);
    }
  });
});
