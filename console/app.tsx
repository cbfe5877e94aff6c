import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { SagaStatus, type Saga } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { OperatorActionForm } from "./operator-action-form.js";
import { createOrchestratorClient, describe, isCredentialError, msOf, STATUSES, statusName, type OrchestratorClient } from "./orchestrator-client.js";
import { formatDuration, SagaTimeline } from "./saga-timeline.js";

/** Where the credential is kept: this tab's session only. */
const CREDENTIAL_KEY = "tp-saga-operator-credential";
/** Sagas fetched per list; the customer filter applies to these. */
const PAGE_SIZE = 200;
/** Counts are exact up to this many per status. */
const COUNT_LIMIT = 1000;
/** However busy the system, the list is reloaded at most this often, and the counts at most every COUNTS_EVERY_MS. */
const REFRESH_EVERY_MS = 500;
const COUNTS_EVERY_MS = 3_000;

interface Filters {
  readonly status: string;
  readonly after: string;
  readonly before: string;
  readonly customer: string;
}

interface Count {
  readonly n: number;
  readonly more: boolean;
}

const timeOf = (local: string) => (local === "" ? undefined : timestampFromMs(new Date(local).getTime()));
const shortId = (id: string) => (id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
const agoText = (ms: number) => (ms < 60_000 ? `${Math.max(0, Math.round(ms / 1_000))} s ago` : `${formatDuration(ms)} ago`);
const money = (cents: bigint) => (Number(cents) / 100).toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function StatusBadge({ status }: { status: SagaStatus }) {
  const name = statusName(status);
  return <span class={`badge badge-${name.toLowerCase()}`}>{name}</span>;
}

/**
 * Everything the console loads in one refresh; the counts (the heaviest part: up to 1,000
 * sagas per status) only when `withCounts`.
 */
async function loadAll(client: OrchestratorClient, filters: Filters, selectedId: string | undefined, withCounts: boolean) {
  const statuses = filters.status === "" ? [] : [SagaStatus[filters.status as keyof typeof SagaStatus]];
  const [list, queue, counts, selected] = await Promise.all([
    client.listSagas({ statuses, createdAfter: timeOf(filters.after), createdBefore: timeOf(filters.before), pageSize: PAGE_SIZE }),
    client.listSagas({ statuses: [SagaStatus.NEEDS_ATTENTION], pageSize: 100 }),
    withCounts ? Promise.all(STATUSES.map((status) => client.listSagas({ statuses: [status], pageSize: COUNT_LIMIT }))) : undefined,
    selectedId === undefined ? undefined : client.getSaga({ sagaId: selectedId }),
  ]);
  const customer = filters.customer.trim().toLowerCase();
  return {
    sagas: customer === "" ? list.sagas : list.sagas.filter((saga) => (saga.order?.customerId ?? "").toLowerCase().includes(customer)),
    truncated: list.nextPageToken !== "",
    queue: queue.sagas,
    counts:
      counts &&
      new Map<SagaStatus, Count>(STATUSES.map((status, i) => [status, { n: counts[i]!.sagas.length, more: counts[i]!.nextPageToken !== "" }])),
    selected: selected?.saga,
  };
}

/**
 * The saga console: counts by status, the NEEDS_ATTENTION queue with the operator actions,
 * sagas filtered by status, creation time and customer, and the timeline of the saga chosen.
 * WatchSagas keeps it live: events reload what is on screen (throttled, so a busy system
 * costs the orchestrator a bounded load per open console), and a broken stream is opened
 * again with backoff.
 */
export function App() {
  const [credential, setCredential] = useState(() => sessionStorage.getItem(CREDENTIAL_KEY) ?? "");
  const [credentialInput, setCredentialInput] = useState(credential);
  const client = useMemo(() => createOrchestratorClient(credential), [credential]);
  const [filters, setFilters] = useState<Filters>({ status: "", after: "", before: "", customer: "" });
  const [data, setData] = useState<Awaited<ReturnType<typeof loadAll>> | undefined>();
  const [selectedId, setSelectedId] = useState<string | undefined>();
  const [problem, setProblem] = useState<{ credential: boolean; text: string } | undefined>();
  const [live, setLive] = useState(false);
  const [now, setNow] = useState(Date.now());
  const state = useRef({ filters, selectedId, client });
  state.current = { filters, selectedId, client };
  const timer = useRef<number | undefined>(undefined);
  const lastRefresh = useRef(0);
  const lastCounts = useRef(0);

  const refresh = async () => {
    const { client: current, filters: f, selectedId: id } = state.current;
    lastRefresh.current = Date.now();
    const withCounts = Date.now() - lastCounts.current >= COUNTS_EVERY_MS;
    if (withCounts) lastCounts.current = Date.now();
    // Counts skipped now are brought up to date by a refresh once their interval has passed.
    else refreshSoon(lastCounts.current + COUNTS_EVERY_MS - Date.now());
    try {
      const loaded = await loadAll(current, f, id, withCounts);
      if (state.current.client !== current) return;
      setData((previous) => ({ ...loaded, counts: loaded.counts ?? previous?.counts }));
      setProblem(undefined);
    } catch (err) {
      setProblem({ credential: isCredentialError(err), text: describe(err) });
    }
  };
  /** A refresh after `delayMs`, at most one every REFRESH_EVERY_MS however many events arrive. */
  function refreshSoon(delayMs = 0) {
    if (timer.current !== undefined) return;
    const wait = Math.max(delayMs, lastRefresh.current + REFRESH_EVERY_MS - Date.now(), 0);
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      void refresh();
    }, wait);
  }

  useEffect(() => void refresh(), [client, filters, selectedId]);
  useEffect(() => {
    const tick = window.setInterval(() => setNow(Date.now()), 1_000);
    return () => window.clearInterval(tick);
  }, []);
  // Live updates: one WatchSagas stream of every saga's events.
  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      let delay = 500;
      while (!abort.signal.aborted) {
        try {
          setLive(true);
          for await (const _message of client.watchSagas({}, { signal: abort.signal })) {
            delay = 500;
            refreshSoon();
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          if (isCredentialError(err)) setProblem({ credential: true, text: describe(err) });
        }
        setLive(false);
        await new Promise((resolve) => window.setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    })();
    return () => abort.abort();
  }, [client]);

  const saveCredential = (value: string) => {
    if (value === "") sessionStorage.removeItem(CREDENTIAL_KEY);
    else sessionStorage.setItem(CREDENTIAL_KEY, value);
    setCredential(value);
  };
  const setFilter = (name: keyof Filters) => (event: Event) => setFilters({ ...filters, [name]: (event.target as HTMLInputElement).value });

  return (
    <div class="console">
      <header>
        <h1>TP-SAGA console</h1>
        <span class={live ? "live on" : "live off"} data-testid="live">
          {live ? "● live" : "○ reconnecting"}
        </span>
        <form
          class="credential"
          onSubmit={(event) => {
            event.preventDefault();
            saveCredential(credentialInput.trim());
          }}
        >
          <input
            type="password"
            autocomplete="off"
            placeholder="Operator API key or JWT"
            value={credentialInput}
            onInput={(event) => setCredentialInput((event.target as HTMLInputElement).value)}
            data-testid="credential-input"
          />
          <button type="submit" data-testid="credential-save">
            Use credential
          </button>
          {credential !== "" && (
            <button type="button" onClick={() => (setCredentialInput(""), saveCredential(""))}>
              Forget
            </button>
          )}
        </form>
      </header>
      {problem && (
        <div class="error banner" data-testid="problem">
          {problem.credential ? "Credential needed or refused — enter an operator API key or JWT above. " : ""}
          {problem.text}
        </div>
      )}

      <section class="counts" data-testid="counts">
        {STATUSES.map((status) => {
          const count = data?.counts?.get(status);
          return (
            <button
              type="button"
              class={`count badge-${statusName(status).toLowerCase()} ${filters.status === statusName(status) ? "chosen" : ""}`}
              data-testid={`count-${statusName(status)}`}
              onClick={() => setFilters({ ...filters, status: filters.status === statusName(status) ? "" : statusName(status) })}
            >
              <span class="count-n">{count ? `${count.n}${count.more ? "+" : ""}` : "–"}</span>
              <span class="count-label">{statusName(status)}</span>
            </button>
          );
        })}
      </section>

      <section class="queue" data-testid="attention-queue">
        <h2>Needs attention ({data?.queue.length ?? 0})</h2>
        {data?.queue.length === 0 && <p class="muted">Nothing waits for an operator.</p>}
        {data?.queue.map((saga) => (
          <div class="queue-item" data-testid="attention-item" data-saga-id={saga.sagaId}>
            <div>
              <a href="#" onClick={(event) => (event.preventDefault(), setSelectedId(saga.sagaId))}>
                {saga.sagaId}
              </a>{" "}
              — {saga.order?.customerId}, failed at <strong>{saga.failedStep || "?"}</strong>: <span class="muted">{saga.error}</span>
            </div>
            <OperatorActionForm client={client} sagaId={saga.sagaId} onDone={refreshSoon} />
          </div>
        ))}
      </section>

      <div class="columns">
        <section class="list">
          <h2>Sagas</h2>
          <div class="filters">
            <select value={filters.status} onChange={setFilter("status")} data-testid="filter-status">
              <option value="">every status</option>
              {STATUSES.map((status) => (
                <option value={statusName(status)}>{statusName(status)}</option>
              ))}
            </select>
            <label>
              from <input type="datetime-local" value={filters.after} onChange={setFilter("after")} data-testid="filter-from" />
            </label>
            <label>
              to <input type="datetime-local" value={filters.before} onChange={setFilter("before")} data-testid="filter-to" />
            </label>
            <input type="search" placeholder="customer" value={filters.customer} onInput={setFilter("customer")} data-testid="filter-customer" />
          </div>
          <table>
            <thead>
              <tr>
                <th>saga</th>
                <th>status</th>
                <th>customer</th>
                <th>items</th>
                <th class="num">total</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody data-testid="saga-rows">
              {data?.sagas.map((saga: Saga) => (
                <tr
                  class={saga.sagaId === selectedId ? "selected" : ""}
                  onClick={() => setSelectedId(saga.sagaId)}
                  data-testid="saga-row"
                  data-saga-id={saga.sagaId}
                  data-status={statusName(saga.status)}
                >
                  <td class="mono" title={saga.sagaId}>
                    {shortId(saga.sagaId)}
                  </td>
                  <td>
                    <StatusBadge status={saga.status} />
                  </td>
                  <td>{saga.order?.customerId}</td>
                  <td>{saga.order?.items.map((item) => `${item.quantity}× ${item.productId}`).join(", ")}</td>
                  <td class="num">{money(saga.totalCents)}</td>
                  <td title={new Date(msOf(saga.createdAt) ?? 0).toISOString()}>{agoText(now - (msOf(saga.createdAt) ?? now))}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data?.truncated && <p class="muted">The newest {PAGE_SIZE} sagas matching status and time; the customer filter applies to these.</p>}
        </section>

        <section class="detail" data-testid="saga-detail">
          {data?.selected === undefined ? (
            <p class="muted">Choose a saga to see its timeline.</p>
          ) : (
            <>
              <h2>
                Saga <span class="mono">{data.selected.sagaId}</span> <StatusBadge status={data.selected.status} />
              </h2>
              <p>
                {data.selected.order?.customerId}: {data.selected.order?.items.map((item) => `${item.quantity}× ${item.productId}`).join(", ")} ·
                total {money(data.selected.totalCents)} · {data.selected.definitionName} v{data.selected.definitionVersion}
                {data.selected.failedStep !== "" && (
                  <>
                    {" "}
                    · failed at <strong>{data.selected.failedStep}</strong> ({data.selected.errorCode}: {data.selected.error})
                  </>
                )}
              </p>
              <SagaTimeline saga={data.selected} now={now} />
              <h3>Operator actions</h3>
              <OperatorActionForm client={client} sagaId={data.selected.sagaId} onDone={refreshSoon} />
            </>
          )}
        </section>
      </div>
    </div>
  );
}
