/**
 * Reading sagas back: one by id, or a filtered page newest first. Always from the durable
 * log, so a query never shows a transition a crash could take back.
 */
import { decodePageToken, encodePageToken } from "#platform/page-token.js";
import type { RunnerState } from "./runner-state.js";
import { foldSaga, type SagaRecord } from "./saga-record.js";
import type { ListQuery } from "./runner.js";

/** The saga as its durable log describes it, or undefined. */
export async function getSaga(state: RunnerState, sagaId: string): Promise<SagaRecord | undefined> {
  const stored = await state.store.load(sagaId);
  return stored && foldSaga(stored.header, stored.events);
}

/**
 * One page of sagas newest first, and the token of the next page ("" on the last).
 * @throws InvalidPageTokenError on a token this engine did not issue.
 */
export async function listSagas(state: RunnerState, query: ListQuery): Promise<{ sagas: SagaRecord[]; nextPageToken: string }> {
  const pageSize = Math.min(1000, Math.max(1, Math.floor(query.pageSize ?? 50) || 50));
  const after = query.pageToken ? decodePageToken(query.pageToken) : undefined;
  const rows = await state.store.list({
    ...(query.statuses && { statuses: query.statuses }),
    ...(query.createdAfter !== undefined && { createdAfter: query.createdAfter }),
    ...(query.createdBefore !== undefined && { createdBefore: query.createdBefore }),
    ...(after && { after }),
    limit: pageSize + 1,
  });
  const page = rows.length > pageSize ? rows.slice(0, pageSize) : rows;
  const last = page[page.length - 1];
  const nextPageToken = rows.length > pageSize && last ? encodePageToken({ createdAt: last.header.createdAt, sagaId: last.header.sagaId }) : "";
  return { sagas: page.map((stored) => foldSaga(stored.header, stored.events)), nextPageToken };
}
