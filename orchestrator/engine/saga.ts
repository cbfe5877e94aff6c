/**
 * Saga definitions: an ordered list of steps, each with an action, an optional
 * compensation, and its retry policies as data. The engine runs them; it knows nothing
 * about what they do.
 */
import { SagaDefinitionError } from "./errors.js";
import type { Json } from "./json.js";
import { type CompensationRetryPolicy, DEFAULT_COMPENSATION_RETRY, DEFAULT_RETRY, type RetryPolicy } from "./retry.js";

/** What an action, compensation or confirmation receives. */
export interface StepContext<I> {
  readonly sagaId: string;
  /** `${sagaId}:${stepName}`: the same on every retry, after recovery, and for the compensation. Pass it as the RPC's idempotency key. */
  readonly key: string;
  readonly input: I;
  /** Outputs of the steps that succeeded before this one (for a confirmation: of every step), by step name (replayed from the log after recovery). */
  readonly results: Readonly<Record<string, Json>>;
  /** 1 for the first call, then 2, 3… (a call cut short by a crash is made again with the same number). */
  readonly attempt: number;
  /** This call's deadline in ms; pass it on as the RPC deadline. */
  readonly timeoutMs: number;
  /** Aborts when the call times out or the runner closes. */
  readonly signal: AbortSignal;
}

/** One step of a saga. `name` is a persisted key: renaming it is a migration. */
export interface SagaStep<I> {
  name: string;
  /** Does the work; returns a small plain-JSON output, kept in the log. Throws to fail. */
  action(ctx: StepContext<I>): Promise<Json>;
  /** Undoes the action; must be idempotent and accept "nothing to undo" (it also runs when the action failed or never arrived). */
  compensate?: (ctx: StepContext<I>) => Promise<void>;
  /**
   * Makes the action final once every action of the saga has succeeded (the saga passed its
   * pivot). Must be idempotent; retried until it succeeds and never compensated.
   */
  confirm?: (ctx: StepContext<I>) => Promise<void>;
  retry: RetryPolicy;
  compensationRetry: CompensationRetryPolicy;
  /**
   * How the confirmation is retried: on any error, with capped backoff; past `attentionAfter`
   * failed calls the saga is NEEDS_ATTENTION (still decided: it can only be confirmed).
   */
  confirmationRetry: CompensationRetryPolicy;
}

/** A named, versioned list of steps. A saga finishes on the version it started with. */
export interface SagaDefinition<I> {
  name: string;
  version: number;
  steps: SagaStep<I>[];
  /** Time from creation after which a RUNNING saga stops and compensates. */
  deadlineMs: number;
}

/** Default saga deadline: 2 minutes. */
export const DEFAULT_DEADLINE_MS = 120_000;

/** Options of {@link step}: anything left out takes the defaults of `retry.ts`. */
export interface StepOptions<I> {
  compensate?: SagaStep<I>["compensate"];
  confirm?: SagaStep<I>["confirm"];
  retry?: Partial<RetryPolicy>;
  compensationRetry?: Partial<CompensationRetryPolicy>;
  confirmationRetry?: Partial<CompensationRetryPolicy>;
}

/**
 * Declares a step. Compensations and confirmations default to `attentionAfter` = 20
 * attempts; a given `maxAttempts` without `attentionAfter` is taken as `attentionAfter`.
 * @throws SagaDefinitionError on an empty name or retry numbers out of range.
 */
export function step<I>(name: string, action: SagaStep<I>["action"], options: StepOptions<I> = {}): SagaStep<I> {
  if (typeof name !== "string" || name.length === 0) throw new SagaDefinitionError("a step needs a non-empty name");
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const compensationRetry = attentionPolicy(options.compensationRetry);
  const confirmationRetry = attentionPolicy(options.confirmationRetry);
  checkPolicy(name, "retry", retry);
  checkPolicy(name, "compensationRetry", compensationRetry);
  checkPolicy(name, "confirmationRetry", confirmationRetry);
  const s: SagaStep<I> = { name, action, retry, compensationRetry, confirmationRetry };
  if (options.compensate) s.compensate = options.compensate;
  if (options.confirm) s.confirm = options.confirm;
  return s;
}

/** A policy retried on any error until `attentionAfter`, which is also its `maxAttempts`. */
function attentionPolicy(given: Partial<CompensationRetryPolicy> = {}): CompensationRetryPolicy {
  const attentionAfter = given.attentionAfter ?? given.maxAttempts ?? DEFAULT_COMPENSATION_RETRY.attentionAfter;
  return { ...DEFAULT_COMPENSATION_RETRY, ...given, attentionAfter, maxAttempts: attentionAfter };
}

/**
 * Declares a saga: its name, version and steps in order.
 * @throws SagaDefinitionError on an empty name, a version that is not a positive integer,
 * no steps, duplicate step names, or a deadline that is not positive.
 */
export function defineSaga<I>(name: string, version: number, steps: SagaStep<I>[], options: { deadlineMs?: number } = {}): SagaDefinition<I> {
  if (typeof name !== "string" || name.length === 0) throw new SagaDefinitionError("a saga needs a non-empty name");
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new SagaDefinitionError(`saga "${name}": version must be a positive integer, got ${version}`);
  }
  if (steps.length === 0) throw new SagaDefinitionError(`saga "${name}" has no steps`);
  const seen = new Set<string>();
  for (const s of steps) {
    if (seen.has(s.name)) throw new SagaDefinitionError(`saga "${name}": duplicate step "${s.name}"`);
    seen.add(s.name);
  }
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  if (!(deadlineMs > 0)) throw new SagaDefinitionError(`saga "${name}": deadlineMs must be > 0`);
  return { name, version, steps: [...steps], deadlineMs };
}

function checkPolicy(stepName: string, which: string, p: RetryPolicy): void {
  const bad = (field: string): never => {
    throw new SagaDefinitionError(`step "${stepName}": ${which}.${field} is out of range`);
  };
  if (!Number.isSafeInteger(p.maxAttempts) || p.maxAttempts < 1) bad("maxAttempts");
  if (!(p.initialDelayMs >= 0)) bad("initialDelayMs");
  if (!(p.maxDelayMs >= 0)) bad("maxDelayMs");
  if (!(p.backoffRate >= 1)) bad("backoffRate");
  if (!(p.timeoutMs > 0)) bad("timeoutMs");
}
