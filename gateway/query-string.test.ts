import { describe, expect, it } from "vitest";
import { HttpError } from "./http-errors.js";
import { readQuery } from "./query-string.js";
import { readSagaListQuery } from "./saga-list-query.js";
import { SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";

const faultOf = (f: () => unknown): { status: number; message: string } => {
  try {
    f();
  } catch (e) {
    if (e instanceof HttpError) return { status: e.status, message: e.message };
    return { status: 0, message: (e as { rawMessage?: string }).rawMessage ?? String(e) };
  }
  throw new Error("expected a throw");
};

describe("strict query strings", () => {
  it("read each accepted parameter once, percent-decoded, + as a space", () => {
    expect([...readQuery("/sagas?status=RUNNING%2CCOMPLETED&pageToken=a+b&", ["status", "pageToken"])]).toEqual([
      ["status", "RUNNING,COMPLETED"],
      ["pageToken", "a b"],
    ]);
    expect(readQuery("/sagas", ["status"]).size).toBe(0);
  });

  it.each([
    ["/sagas?status[]=RUNNING", 'query: unknown parameter "status[]"'],
    ["/sagas?status[a]=RUNNING", 'query: unknown parameter "status[a]"'],
    ["/sagas?status=RUNNING&status=COMPLETED", "status: given more than once"],
    ["/sagas?status=%E0%A4%A", 'query: value of "status" "%E0%A4%A" is not valid percent-encoded UTF-8'],
    ["/sagas?%ZZ=1", 'query: parameter name "%ZZ" is not valid percent-encoded UTF-8'],
    ["/saga?customerId=x", 'query: unknown parameter "customerId" (this endpoint takes no query parameters)'],
  ])("refuse %s, naming the parameter", (url, message) => {
    const fault = faultOf(() => readQuery(url, url.startsWith("/sagas") ? ["status"] : []));
    expect(fault.status).toBe(400);
    expect(fault.message).toContain(message);
  });
});

describe("GET /sagas parameters", () => {
  it("become a ListSagas request", () => {
    const q = readSagaListQuery("/sagas?status=compensated,RUNNING&pageSize=20&createdAfter=2026-11-28T10:00:00Z&pageToken=t");
    expect(q.statuses).toEqual([SagaStatus.COMPENSATED, SagaStatus.RUNNING]);
    expect(q.pageSize).toBe(20);
    expect(q.pageToken).toBe("t");
    expect(Number(q.createdAfter?.seconds)).toBe(Date.parse("2026-11-28T10:00:00Z") / 1000);
    expect(q.createdBefore).toBeUndefined();
  });

  it.each([
    ["status=", "status: "],
    ["status=DONE", 'status: "DONE" is not one of RUNNING, COMPLETED, COMPENSATING, COMPENSATED, NEEDS_ATTENTION, CONFIRMING, RESOLVED'],
    ["status=UNSPECIFIED", "status: "],
    ["status=1", "status: "],
    ["pageSize=1e3", "pageSize: must be between 0 and 1000"],
    ["pageSize=1001", "pageSize: must be between 0 and 1000"],
    ["pageSize=-1", "pageSize: must be between 0 and 1000"],
    ["createdAfter=yesterday", "createdAfter: must be an ISO 8601 date-time"],
    ["createdBefore=1", "createdBefore: must be an ISO 8601 date-time"],
  ])("refuse %s", (query, message) => {
    expect(faultOf(() => readSagaListQuery(`/sagas?${query}`)).message).toContain(message);
  });
});
