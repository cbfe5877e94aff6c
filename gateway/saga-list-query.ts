import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { checkPageSize } from "#platform/field-rules.js";
import { HttpError } from "./http-errors.js";
import { quote, readQuery } from "./query-string.js";

/** What `GET /sagas` asks the orchestrator's ListSagas for. */
export interface SagaListQuery {
  statuses: SagaStatus[];
  pageSize: number;
  pageToken: string;
  createdAfter?: Timestamp;
  createdBefore?: Timestamp;
}

/** The parameters `GET /sagas` takes. */
const PARAMETERS = ["status", "createdAfter", "createdBefore", "pageSize", "pageToken"] as const;

/** Status names as the contract defines them (UNSPECIFIED is no status). */
const STATUS_NAMES = Object.keys(SagaStatus).filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED");

/** ISO 8601 date or date-time, as `Date.parse` reads it reliably. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function statusesOf(text: string | undefined): SagaStatus[] {
  if (text === undefined) return [];
  return text.split(",").map((raw) => {
    const name = raw.trim().toUpperCase();
    if (!STATUS_NAMES.includes(name)) throw new HttpError(400, `status: ${quote(raw)} is not one of ${STATUS_NAMES.join(", ")}`);
    return SagaStatus[name as keyof typeof SagaStatus];
  });
}

function instantOf(name: string, text: string | undefined): Timestamp | undefined {
  if (text === undefined) return undefined;
  const ms = ISO_8601.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new HttpError(400, `${name}: must be an ISO 8601 date-time, for example 2026-11-28T10:00:00Z`);
  return timestampFromMs(ms);
}

/**
 * Reads `GET /sagas?status=…&createdAfter=…&createdBefore=…&pageSize=…&pageToken=…` strictly
 * ({@link readQuery}): `status` a comma-separated list of status names, the times ISO 8601,
 * `pageSize` by the system's page-size rule. The page token is the orchestrator's to judge.
 * @throws HttpError 400 or ConnectError INVALID_ARGUMENT, naming the parameter at fault.
 */
export function readSagaListQuery(url: string): SagaListQuery {
  const q = readQuery(url, PARAMETERS);
  const pageSizeText = q.get("pageSize");
  const pageSize = pageSizeText === undefined ? 0 : checkPageSize(/^\d{1,9}$/.test(pageSizeText) ? Number(pageSizeText) : NaN, "pageSize");
  const query: SagaListQuery = { statuses: statusesOf(q.get("status")), pageSize, pageToken: q.get("pageToken") ?? "" };
  const createdAfter = instantOf("createdAfter", q.get("createdAfter"));
  const createdBefore = instantOf("createdBefore", q.get("createdBefore"));
  if (createdAfter) query.createdAfter = createdAfter;
  if (createdBefore) query.createdBefore = createdBefore;
  return query;
}
