/**
 * The chaos run's HTTP client of the gateway: one saga per call, its own Idempotency-Key,
 * retries on network errors, 5xx and 429 with the same key and body, and polling of
 * `GET /saga/:id` after a 202 until the saga is terminal. Every loop is bounded in count and
 * in time.
 */
import type { Prng } from "./prng.js";
import type { PlannedOrder } from "./orders.js";

export const TERMINAL = new Set(["COMPLETED", "COMPENSATED"]);

/** What the client learnt about one saga. */
export interface ClientRecord {
  readonly key: string;
  readonly order: PlannedOrder;
  /** The first answer that named a saga: 200, 409 (with a sagaId) or 202. */
  ack?: { httpStatus: number; sagaId: string; status: string; failedStep?: string };
  /** The last status the client saw for its saga (from the POST answer or from polling). */
  seen?: { status: string; failedStep?: string };
  /** Requests sent beyond the first POST (retries of POST, not polls). */
  retries: number;
  /** POSTs sent in all (0: the run's bounds passed before this saga was sent). */
  posts: number;
  polls: number;
  /** Set when the client gave up or met an answer it does not expect. */
  problem?: string;
  /** A twin of the first POST sent at the same moment: the saga it named, if any. */
  twin?: { httpStatus: number | "network"; sagaId?: string };
  /** A repeat of the same POST after the outcome: whether it named the same saga and status. */
  repeat?: { sameSaga: boolean; sameStatus: boolean; httpStatus: number };
  startedAt: number;
  finishedAt?: number;
}

export interface ClientOptions {
  readonly gatewayUrl: string;
  /** Give up (and record a problem) after this moment; a function is asked each time (the run may move it). */
  readonly deadlineAt: number | (() => number);
  /** POST attempts in all (default 60). */
  readonly maxAttempts?: number;
  /** Per-request timeout (default 15 s): must exceed the gateway's SAGA_WAIT_MS. */
  readonly requestTimeoutMs?: number;
  /** Probability of repeating the POST once after the outcome, to check saga-level idempotency. */
  readonly repeatChance?: number;
  readonly random: Prng;
  /** Probability of sending the first POST twice at once (same key, same body): both must name one saga. */
  readonly twinChance?: number;
  /** Called for every HTTP answer ("200", "503", …) and every network error ("network"). */
  readonly onAnswer?: (what: string) => void;
  /** Stops retrying and polling early (the run is shutting down). */
  readonly signal?: AbortSignal;
}

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
  retryAfterS: number | undefined;
}

async function request(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    body = { unparsed: text.slice(0, 200) };
  }
  const ra = res.headers.get("retry-after");
  return { status: res.status, body, retryAfterS: ra === null ? undefined : Number(ra) };
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs one saga to an answer (and to a terminal status after a 202), within the bounds. */
export async function runClientSaga(key: string, order: PlannedOrder, o: ClientOptions): Promise<ClientRecord> {
  const rec: ClientRecord = { key, order, retries: 0, posts: 0, polls: 0, startedAt: Date.now() };
  const maxAttempts = o.maxAttempts ?? 60;
  const timeoutMs = o.requestTimeoutMs ?? 15_000;
  const init: RequestInit = {
    method: "POST",
    headers: { "idempotency-key": key, ...(order.body ? { "content-type": "application/json" } : {}) },
    ...(order.body ? { body: JSON.stringify(order.body) } : {}),
  };
  const deadline = (): number => (typeof o.deadlineAt === "function" ? o.deadlineAt() : o.deadlineAt);
  const stop = (): boolean => Date.now() >= deadline() || o.signal?.aborted === true;
  const backoff = (attempt: number): number => o.random.int(0, Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));

  // Drawn even when stopping, so that the random sequence does not depend on timing.
  const twin =
    o.random.chance(o.twinChance ?? 0) && !stop()
      ? request(`${o.gatewayUrl}/saga`, init, timeoutMs).then(
          (a) => ({ httpStatus: a.status, ...(str(a.body?.sagaId) ? { sagaId: str(a.body?.sagaId)! } : {}) }),
          () => ({ httpStatus: "network" as const }),
        )
      : undefined;

  // POST until an answer names the saga.
  for (let attempt = 0; rec.ack === undefined; attempt++) {
    if (attempt >= maxAttempts || stop()) {
      rec.problem = `no acknowledgement after ${attempt} attempts`;
      rec.finishedAt = Date.now();
      return rec;
    }
    if (attempt > 0) rec.retries++;
    rec.posts++;
    let a: Answer;
    try {
      a = await request(`${o.gatewayUrl}/saga`, init, timeoutMs);
    } catch {
      o.onAnswer?.("network");
      await sleep(backoff(attempt));
      continue;
    }
    o.onAnswer?.(String(a.status));
    const sagaId = str(a.body?.sagaId);
    const status = str(a.body?.status);
    if ((a.status === 200 || a.status === 409 || a.status === 202) && sagaId && status) {
      rec.ack = { httpStatus: a.status, sagaId, status, ...(str(a.body?.failedStep) ? { failedStep: str(a.body?.failedStep)! } : {}) };
      rec.seen = { status, ...(rec.ack.failedStep ? { failedStep: rec.ack.failedStep } : {}) };
      // CONFIRMING is decided (the saga has passed its pivot and will complete): the gateway answers it 200.
      if (a.status === 200 && status !== "COMPLETED" && status !== "CONFIRMING") rec.problem = `200 with status ${status}`;
      if (a.status === 409 && status !== "COMPENSATED") rec.problem = `409 with status ${status}`;
      break;
    }
    if (a.status === 429) {
      await sleep((a.retryAfterS ?? 1) * 1_000 + o.random.int(0, 500));
      continue;
    }
    if (a.status >= 500) {
      await sleep(backoff(attempt));
      continue;
    }
    rec.problem = `unexpected answer ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`;
    rec.finishedAt = Date.now();
    return rec;
  }

  if (twin) rec.twin = await twin;
  if (twin) rec.posts++;

  // After a 202: poll until terminal.
  const sagaId = rec.ack.sagaId;
  while (!TERMINAL.has(rec.seen!.status)) {
    if (stop()) {
      rec.problem ??= `still ${rec.seen!.status} when the client stopped polling`;
      break;
    }
    await sleep(o.random.int(150, 400));
    rec.polls++;
    try {
      const a = await request(`${o.gatewayUrl}/saga/${encodeURIComponent(sagaId)}`, { method: "GET" }, 5_000);
      o.onAnswer?.(`GET ${a.status}`);
      if (a.status === 200 && str(a.body?.status)) {
        rec.seen = { status: str(a.body?.status)!, ...(str(a.body?.failedStep) ? { failedStep: str(a.body?.failedStep)! } : {}) };
      } else if (a.status === 404) {
        rec.problem = `GET /saga/${sagaId}: 404 after it was acknowledged`;
        break;
      }
    } catch {
      o.onAnswer?.("network");
    }
  }

  // Sometimes: the same POST again must name the same saga, with the same outcome.
  if (TERMINAL.has(rec.seen!.status) && o.random.chance(o.repeatChance ?? 0)) {
    for (let attempt = 0; attempt < 20 && !stop(); attempt++) {
      try {
        const a = await request(`${o.gatewayUrl}/saga`, init, timeoutMs);
        o.onAnswer?.(String(a.status));
        if (a.status >= 500 || a.status === 429) {
          await sleep(backoff(attempt));
          continue;
        }
        rec.repeat = { httpStatus: a.status, sameSaga: a.body?.sagaId === sagaId, sameStatus: a.body?.status === rec.seen!.status };
        break;
      } catch {
        o.onAnswer?.("network");
        await sleep(backoff(attempt));
      }
    }
  }
  rec.finishedAt = Date.now();
  return rec;
}
