/**
 * The orchestrator's spans: one span per saga drive, and under it one span per call of a
 * step's action, compensation or confirmation (so each retry is a span of its own). The
 * engine knows nothing of tracing: this wraps a definition's step functions and the runner's
 * `start` from the outside, and follows the runner's events to end each saga's span.
 *
 * How a saga's spans relate to the request that started it: a saga started by `StartSaga`
 * is driven in the async context of that call, so its span is a child of the orchestrator's
 * server span for `StartSaga`, itself under the gateway's `POST /saga` span: one trace from
 * the REST request to every store write, although the saga's span (and its confirmations)
 * may outlive the request. A saga whose drive has no such context (resumed from the log after
 * a restart, or driven again by an operator's `RetrySaga`) gets a span `saga <name> resumed`,
 * child of the active context if any (the operator's call) or the root of a new trace; it
 * carries the saga's id (`saga.id`), which is how a collector finds every trace of one saga.
 */
import { context, createContextKey, propagation, SpanStatusCode, trace, type Context, type Span } from "@opentelemetry/api";
import { SAGA_ID_BAGGAGE } from "#platform/tracing/log-trace-fields.js";
import type { Runner } from "./engine/runner.js";
import type { SagaDefinition, SagaStep, StepContext } from "./engine/saga.js";
import { isTerminal } from "./engine/saga-record.js";

const tracer = trace.getTracer("tp-saga");

/** Marks the context of a `start` whose saga span is not yet bound to a saga id (the id is chosen inside the runner). */
const UNBOUND_SAGA_SPAN = createContextKey("tp-saga unbound saga span");

interface SagaTrace {
  readonly span: Span;
  /** The saga span's context, with the saga id as baggage: the parent of its step spans. */
  readonly context: Context;
}

/** The spans of the sagas this process drives, by saga id; wraps definitions and the runner. */
export interface SagaTracing {
  /** The definition with each step's action, compensation and confirmation traced. */
  definition<I>(definition: SagaDefinition<I>): SagaDefinition<I>;
  /** The runner with `start` traced and each saga's span ended when its drive ends. */
  runner(runner: Runner): Runner;
}

/** Saga tracing for one orchestrator. Use only when tracing is on: when off, leave definitions and runner unwrapped. */
export function createSagaTracing(): SagaTracing {
  const sagas = new Map<string, SagaTrace>();

  const bind = (sagaId: string, span: Span, parent: Context): SagaTrace => {
    span.setAttribute("saga.id", sagaId);
    const sagaContext = propagation.setBaggage(
      trace.setSpan(parent, span),
      (propagation.getBaggage(parent) ?? propagation.createBaggage()).setEntry(SAGA_ID_BAGGAGE, { value: sagaId }),
    );
    const bound = { span, context: sagaContext };
    sagas.set(sagaId, bound);
    return bound;
  };

  /** The trace of a saga whose step is about to be called: bound, bound now to the start in progress, or a resumed one. */
  const traceOf = (sagaId: string, definitionName: string): SagaTrace => {
    const known = sagas.get(sagaId);
    if (known) return known;
    const active = context.active();
    const unbound = active.getValue(UNBOUND_SAGA_SPAN) as Span | undefined;
    if (unbound?.isRecording()) return bind(sagaId, unbound, active.deleteValue(UNBOUND_SAGA_SPAN));
    const span = tracer.startSpan(
      `saga ${definitionName} resumed`,
      { attributes: { "saga.definition": definitionName, "saga.resumed": true } },
      active,
    );
    return bind(sagaId, span, active);
  };

  const traceStep = <I>(definitionName: string, phase: string, stepName: string, work: (ctx: StepContext<I>) => Promise<unknown>) => {
    return (ctx: StepContext<I>): Promise<unknown> => {
      const saga = traceOf(ctx.sagaId, definitionName);
      const span = tracer.startSpan(
        `${phase} ${stepName}`,
        { attributes: { "saga.id": ctx.sagaId, "saga.step": stepName, "saga.phase": phase, "saga.attempt": ctx.attempt } },
        saga.context,
      );
      return context
        .with(trace.setSpan(saga.context, span), () => work(ctx))
        .then(
          (value) => {
            span.end();
            return value;
          },
          (error: unknown) => {
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
            span.end();
            throw error;
          },
        );
    };
  };

  return {
    definition(definition) {
      const steps = definition.steps.map(<I>(step: SagaStep<I>): SagaStep<I> => {
        const traced: SagaStep<I> = { ...step };
        traced.action = traceStep(definition.name, "action", step.name, step.action) as typeof step.action;
        if (step.compensate) traced.compensate = traceStep(definition.name, "compensate", step.name, step.compensate) as typeof step.compensate;
        if (step.confirm) traced.confirm = traceStep(definition.name, "confirm", step.name, step.confirm) as typeof step.confirm;
        return traced;
      });
      return { ...definition, steps };
    },

    runner(runner) {
      runner.subscribe(undefined, (event) => {
        const saga = sagas.get(event.sagaId);
        if (!saga) return;
        saga.span.addEvent(
          event.kind,
          event.step === undefined ? { "saga.status": event.status } : { "saga.status": event.status, "saga.step": event.step },
        );
        if (isTerminal(event.status)) {
          saga.span.setAttribute("saga.status", event.status);
          if (event.status === "NEEDS_ATTENTION")
            saga.span.setStatus({ code: SpanStatusCode.ERROR, message: event.error?.message ?? "needs attention" });
          saga.span.end();
          sagas.delete(event.sagaId);
        }
      });
      return {
        ...runner,
        async start(definitionName, request) {
          const span = tracer.startSpan(`saga ${definitionName}`, { attributes: { "saga.definition": definitionName } });
          const parent = context.active();
          let result: Awaited<ReturnType<Runner["start"]>>;
          try {
            result = await context.with(trace.setSpan(parent, span).setValue(UNBOUND_SAGA_SPAN, span), () => runner.start(definitionName, request));
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
            span.end();
            throw error;
          }
          span.setAttribute("saga.created", result.created);
          if (!result.created || isTerminal(result.saga.status)) {
            span.setAttribute("saga.id", result.saga.sagaId);
            span.end();
          } else if (span.isRecording() && sagas.get(result.saga.sagaId)?.span !== span) {
            bind(result.saga.sagaId, span, parent);
          }
          return result;
        },
        async close() {
          await runner.close();
          for (const [sagaId, saga] of sagas) {
            saga.span.setAttribute("saga.stopped", true);
            saga.span.end();
            sagas.delete(sagaId);
          }
        },
      };
    },
  };
}
