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
 * may outlive the request. The saga span's traceparent is kept with the saga in its log
 * (`StartRequest.traceContext`). A drive without that span at hand (the saga resumed from
 * the log after a restart, on this process or another, or driven again by an operator's
 * `RetrySaga`) gets a span `saga <name> resumed`, child of the kept traceparent, so it
 * continues the same trace; it links to the operator's call when there is one. A saga started
 * while tracing was off has no traceparent: its resumed span starts a new trace. Every saga
 * span carries the saga's id (`saga.id`), which is how a collector finds a saga's spans.
 */
import { context, createContextKey, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Link, type Span } from "@opentelemetry/api";
import { SAGA_ID_BAGGAGE, setSagaTraceLookup } from "#platform/tracing/log-trace-fields.js";
import { endSpan, endSpanWhenSettled } from "#platform/tracing/span-settle.js";
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
  /** Saga spans already ended (not `!isRecording()`: a span left out by sampling records nothing, yet is the saga's). */
  const ended = new WeakSet<Span>();
  // A log line naming a saga carries its trace, even outside its spans (platform/logger.ts).
  setSagaTraceLookup((sagaId) => sagas.get(sagaId)?.span.spanContext().traceId);
  /** Resumed sagas whose kept trace context is being read from the log. */
  const resuming = new Map<string, Promise<SagaTrace>>();
  /** Reads a saga's kept trace context (set once the runner is wrapped). */
  let keptTraceContext: (sagaId: string) => Promise<string | undefined> = async () => undefined;

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

  /** A span `saga <name> resumed` under the saga's kept traceparent (or a new trace), linked to the active span (an operator's call). */
  const resumedTrace = async (sagaId: string, definitionName: string, active: Context): Promise<SagaTrace> => {
    let traceparent: string | undefined;
    try {
      traceparent = await keptTraceContext(sagaId);
    } catch {
      traceparent = undefined; // the drive itself meets the store's failure; this span starts a new trace
    }
    const parent = traceparent === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, { traceparent });
    const activeSpan = trace.getSpan(active);
    const links: Link[] = activeSpan ? [{ context: activeSpan.spanContext() }] : [];
    const attributes = { "saga.definition": definitionName, "saga.resumed": true };
    const bound = sagas.get(sagaId);
    return bound ?? bind(sagaId, tracer.startSpan(`saga ${definitionName} resumed`, { attributes, links }, parent), parent);
  };

  /** The trace of a saga whose step is about to be called: bound, bound now to the start in progress, or resumed (read from the log once). */
  const traceOf = (sagaId: string, definitionName: string): SagaTrace | Promise<SagaTrace> => {
    const known = sagas.get(sagaId);
    if (known) return known;
    const active = context.active();
    const unbound = active.getValue(UNBOUND_SAGA_SPAN) as Span | undefined;
    if (unbound && !ended.has(unbound)) return bind(sagaId, unbound, active.deleteValue(UNBOUND_SAGA_SPAN));
    let pending = resuming.get(sagaId);
    if (!pending) {
      pending = resumedTrace(sagaId, definitionName, active).finally(() => resuming.delete(sagaId));
      resuming.set(sagaId, pending);
    }
    return pending;
  };

  const traceStep = <I>(definitionName: string, phase: string, stepName: string, work: (ctx: StepContext<I>) => Promise<unknown>) => {
    const traced = (saga: SagaTrace, ctx: StepContext<I>): Promise<unknown> => {
      const span = tracer.startSpan(
        `${phase} ${stepName}`,
        { attributes: { "saga.id": ctx.sagaId, "saga.step": stepName, "saga.phase": phase, "saga.attempt": ctx.attempt } },
        saga.context,
      );
      return endSpanWhenSettled(
        span,
        context.with(trace.setSpan(saga.context, span), () => work(ctx)),
      );
    };
    return (ctx: StepContext<I>): Promise<unknown> => {
      const saga = traceOf(ctx.sagaId, definitionName);
      return saga instanceof Promise ? saga.then((resumed) => traced(resumed, ctx)) : traced(saga, ctx);
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
      keptTraceContext = async (sagaId) => (await runner.get(sagaId))?.traceContext;
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
          ended.add(saga.span);
          // After the event's other listeners (the outcome's log line still finds the trace).
          queueMicrotask(() => {
            if (sagas.get(event.sagaId) === saga) sagas.delete(event.sagaId);
          });
        }
      });
      return {
        ...runner,
        async start(definitionName, request) {
          const span = tracer.startSpan(`saga ${definitionName}`, { attributes: { "saga.definition": definitionName } });
          const parent = context.active();
          const sagaContext = trace.setSpan(parent, span);
          const carrier: Record<string, string> = {};
          propagation.inject(sagaContext, carrier);
          let result: Awaited<ReturnType<Runner["start"]>>;
          try {
            result = await context.with(sagaContext.setValue(UNBOUND_SAGA_SPAN, span), () =>
              runner.start(definitionName, { ...request, traceContext: carrier.traceparent }),
            );
          } catch (error) {
            endSpan(span, true, error);
            ended.add(span);
            throw error;
          }
          span.setAttribute("saga.created", result.created);
          if (!result.created || isTerminal(result.saga.status)) {
            span.setAttribute("saga.id", result.saga.sagaId);
            span.end();
            ended.add(span);
          } else if (!ended.has(span) && sagas.get(result.saga.sagaId)?.span !== span) {
            bind(result.saga.sagaId, span, parent);
          }
          return result;
        },
        async close() {
          await runner.close();
          for (const [sagaId, saga] of sagas) {
            saga.span.setAttribute("saga.stopped", true);
            saga.span.end();
            ended.add(saga.span);
            sagas.delete(sagaId);
          }
        },
      };
    },
  };
}
