import { useState } from "preact/hooks";
import { describe, statusName, type OrchestratorClient } from "./orchestrator-client.js";

/** The three operator actions; the gateway records the authenticated operator as the actor. */
const ACTIONS = [
  { id: "retry", label: "Retry", call: (client: OrchestratorClient, sagaId: string, reason: string) => client.retrySaga({ sagaId, reason }) },
  {
    id: "force-compensate",
    label: "Force compensation",
    call: (client: OrchestratorClient, sagaId: string, reason: string) => client.forceCompensateSaga({ sagaId, reason }),
  },
  {
    id: "resolve",
    label: "Resolve by hand",
    call: (client: OrchestratorClient, sagaId: string, reason: string) => client.resolveSaga({ sagaId, reason }),
  },
] as const;

/**
 * Retry, force compensation or resolve one saga. A reason is required (the buttons stay
 * disabled without one); the orchestrator's answer, or its refusal, is shown below.
 */
export function OperatorActionForm({ client, sagaId, onDone }: { client: OrchestratorClient; sagaId: string; onDone: () => void }) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>();
  const act = async (action: (typeof ACTIONS)[number]) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      const { saga } = await action.call(client, sagaId, reason.trim());
      setOutcome({ ok: true, text: `${action.label}: done, the saga is now ${saga ? statusName(saga.status) : "?"}` });
      setReason("");
      onDone();
    } catch (err) {
      setOutcome({ ok: false, text: `${action.label} refused: ${describe(err)}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="action-form" data-testid="action-form">
      <input
        type="text"
        placeholder="Reason (required, recorded in the saga's history)"
        value={reason}
        maxLength={2000}
        onInput={(event) => setReason((event.target as HTMLInputElement).value)}
        data-testid="action-reason"
      />
      {ACTIONS.map((action) => (
        <button type="button" disabled={busy || reason.trim() === ""} onClick={() => act(action)} data-testid={`action-${action.id}`}>
          {action.label}
        </button>
      ))}
      {outcome && (
        <div class={outcome.ok ? "ok" : "error"} data-testid="action-outcome">
          {outcome.text}
        </div>
      )}
    </div>
  );
}
