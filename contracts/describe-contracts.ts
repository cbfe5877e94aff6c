/**
 * The saga options of services as a table a person reads: each RPC's role, compensation,
 * confirmation and idempotency key field, one service after another.
 */
import type { DescService } from "@bufbuild/protobuf";
import { roleName, sagaMethodOf } from "./saga-method.js";

const HEADER = ["RPC", "ROLE", "COMPENSATION", "CONFIRMATION", "KEY FIELD"];

/**
 * One block per service that uses the option: its name and file, then a row per RPC (`-` where
 * a column is empty); then one line naming the services that do not use it.
 */
export function describeContracts(services: readonly DescService[]): string {
  const inSagas = services.filter((s) => s.methods.some((m) => sagaMethodOf(m)));
  const others = services.filter((s) => !inSagas.includes(s)).map((s) => s.typeName);
  const blocks = inSagas.map(describeService);
  if (others.length > 0) blocks.push(`No saga option on any RPC of: ${others.join(", ")}`);
  return blocks.join("\n\n");
}

function describeService(service: DescService): string {
  const title = `${service.typeName} (${service.file.proto.name})`;
  const rows = service.methods.map((method) => {
    const option = sagaMethodOf(method);
    if (!option) return [method.name, "(none)", "-", "-", "-"];
    const role = option.noSideEffect ? `${roleName(option.role)} (no side effect)` : roleName(option.role);
    return [method.name, role, option.compensation || "-", option.confirmation || "-", option.idempotencyKeyField || "-"];
  });
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd();
  return [title, line(HEADER), ...rows.map(line)].join("\n");
}
