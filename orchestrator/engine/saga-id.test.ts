import { describe, expect, it } from "vitest";
import { newSagaId } from "./saga-id.js";

describe("newSagaId", () => {
  it("makes UUIDv7 strings that sort in creation order, even within one millisecond", () => {
    const ids = Array.from({ length: 5000 }, () => newSagaId(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(newSagaId(1_800_000_000_000) > ids[ids.length - 1]!).toBe(true);
  });
});
