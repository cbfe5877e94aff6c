import { StepPhase, StepStatus, type Saga, type SagaStepRecord } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { msOf, statusName } from "./orchestrator-client.js";

const PHASES: Readonly<Record<number, string>> = {
  [StepPhase.ACTION]: "action",
  [StepPhase.COMPENSATION]: "compensation",
  [StepPhase.CONFIRMATION]: "confirmation",
};

/** A duration as people read it: 840 ms, 2.4 s, 3 min 5 s. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** The saga's time span: from its creation to its last known instant (now while something still runs). */
function spanOf(saga: Saga, now: number): { start: number; end: number } {
  const start = msOf(saga.createdAt) ?? now;
  const running = saga.steps.some((step) => step.status === StepStatus.RUNNING);
  const instants = [msOf(saga.updatedAt) ?? start, ...saga.steps.flatMap((step) => [msOf(step.startedAt) ?? start, msOf(step.finishedAt) ?? start])];
  for (const action of saga.operatorActions) instants.push(msOf(action.at) ?? start);
  const end = Math.max(start + 1, ...instants, running ? now : start);
  return { start, end };
}

function StepRow({ step, start, end, now }: { step: SagaStepRecord; start: number; end: number; now: number }) {
  const phase = PHASES[step.phase] ?? "step";
  const status = StepStatus[step.status] ?? "UNSPECIFIED";
  const began = msOf(step.startedAt) ?? start;
  const finished = msOf(step.finishedAt) ?? (step.status === StepStatus.RUNNING ? now : began);
  const left = ((began - start) / (end - start)) * 100;
  const width = Math.max(0.6, ((finished - began) / (end - start)) * 100);
  return (
    <div class="timeline-row" data-testid="timeline-row" data-phase={phase} data-status={status} data-step={step.name}>
      <div class="timeline-label">
        <span class={`phase phase-${phase}`}>{phase}</span> {step.name}
      </div>
      <div class="timeline-track">
        <div
          class={`timeline-bar phase-${phase} status-${status.toLowerCase()}`}
          style={{ left: `${Math.min(left, 99.4)}%`, width: `${Math.min(width, 100 - Math.min(left, 99.4))}%` }}
          title={`${phase} ${step.name}: ${status}, ${step.attempts} attempt(s), ${formatDuration(finished - began)}`}
        />
      </div>
      <div class="timeline-facts">
        <span class={`status-text status-${status.toLowerCase()}`}>{status.toLowerCase()}</span> · {step.attempts} attempt
        {step.attempts === 1 ? "" : "s"} · {formatDuration(finished - began)}
        {step.lastError !== "" && (
          <div class="timeline-error" data-testid="step-error">
            {step.lastErrorCode}: {step.lastError}
          </div>
        )}
      </div>
    </div>
  );
}

/**
 * A saga's history drawn on a time axis: one row per action, compensation and confirmation, a
 * bar from its start to its end (to now while it runs) coloured by phase and outcome, with its
 * attempts, duration and last error; operator actions as markers below, with who and why.
 */
export function SagaTimeline({ saga, now }: { saga: Saga; now: number }) {
  const { start, end } = spanOf(saga, now);
  const steps = [...saga.steps].sort((a, b) => (msOf(a.startedAt) ?? 0) - (msOf(b.startedAt) ?? 0));
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div class="timeline" data-testid="timeline">
      <div class="timeline-row timeline-axis">
        <div class="timeline-label muted">since created</div>
        <div class="timeline-track">
          {ticks.map((tick) => (
            <span class="tick" style={{ left: `${tick * 100}%` }}>
              {formatDuration(tick * (end - start))}
            </span>
          ))}
        </div>
        <div class="timeline-facts" />
      </div>
      {steps.length === 0 && <p class="muted">No step logged yet (a running saga's steps are logged with its next decision).</p>}
      {steps.map((step) => (
        <StepRow step={step} start={start} end={end} now={now} />
      ))}
      {saga.operatorActions.map((action) => {
        const at = msOf(action.at) ?? start;
        return (
          <div class="timeline-row operator-row" data-testid="operator-action" data-kind={action.kind}>
            <div class="timeline-label">
              <span class="phase phase-operator">operator</span> {action.kind}
            </div>
            <div class="timeline-track">
              <div class="timeline-marker" style={{ left: `${((at - start) / (end - start)) * 100}%` }} />
            </div>
            <div class="timeline-facts">
              by <strong>{action.actor}</strong> → {statusName(action.status)}
              <div class="muted">“{action.reason}”</div>
            </div>
          </div>
        );
      })}
    </div>
  );
}
