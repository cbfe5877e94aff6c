/**
 * Saga steps built from the contract. A definition names each step's action as a method
 * descriptor; the `(saga.options.v1.saga)` option of that RPC says which RPC undoes it, which
 * makes it final and which request field carries the idempotency key, so a definition cannot
 * pair an action with the wrong compensation or forget to pass the key. This lives outside
 * `engine/`, which stays generic and never imports generated code.
 */
import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import { Role } from "#gen/saga/options/v1/options_pb.js";
import { checkService, formatProblem } from "../contracts/check-contracts.js";
import { roleName, sagaMethodOf, siblingMethod } from "../contracts/saga-method.js";
import { SagaDefinitionError } from "./engine/errors.js";
import type { Json } from "./engine/json.js";
import { step, type SagaStep, type StepContext, type StepOptions } from "./engine/saga.js";

/**
 * A Connect-style client of the method's service (`Client<typeof Service>`, or the platform's
 * `ServiceClient`): the step calls its methods by their local names, and checks at definition
 * time that the action, compensation and confirmation are there.
 */
export type ContractClient = { readonly [localName: string]: unknown };

/**
 * How a contract step builds its request and journals its response, plus the retry policies
 * of {@link step} (every option of it but `compensate` and `confirm`, which the contract gives).
 */
export interface ContractStepOptions<I, In extends DescMessage, Out extends DescMessage> extends Omit<StepOptions<I>, "compensate" | "confirm"> {
  /** The action's request, without the idempotency key, as a new object each call: the step puts `ctx.key` in the key field the contract names on it. */
  request(ctx: StepContext<I>): MessageInitShape<In>;
  /** What the step journals from the response (plain JSON, kept in the saga log); null when left out. */
  output?(response: MessageShape<Out>, ctx: StepContext<I>): Json;
}

type UnaryCall = (request: unknown, options: CallOptions) => Promise<unknown>;

/**
 * A step whose action calls `method` and whose compensation and confirmation are the RPCs its
 * contract names, each called with `{ [keyField]: ctx.key }` under the call's deadline. A READ, or an ACTION with `no_side_effect`, gets neither.
 * @throws SagaDefinitionError at definition time when the method is not unary, carries no saga
 *   option, is not READ or ACTION, its service breaks a rule of the option, or the client
 *   lacks one of the RPCs the step calls.
 */
export function contractStep<I, In extends DescMessage, Out extends DescMessage>(
  name: string,
  client: ContractClient,
  method: DescMethodUnary<In, Out>,
  options: ContractStepOptions<I, In, Out>,
): SagaStep<I> {
  const where = `step "${name}": ${method.parent.typeName}.${method.name}`;
  const fail = (why: string): never => {
    throw new SagaDefinitionError(`${where} ${why}`);
  };
  if (method.methodKind !== "unary") fail(`is ${method.methodKind}; a step calls a unary RPC`);
  const option = sagaMethodOf(method) ?? fail("carries no (saga.options.v1.saga) option, so its contract does not say how to undo it");
  if (option.role !== Role.READ && option.role !== Role.ACTION) {
    fail(`is a ${roleName(option.role)}; a step's action must be a READ or an ACTION`);
  }
  const problems = checkService(method.parent);
  if (problems.length > 0) fail(`belongs to a contract that breaks the saga option's rules:\n${problems.map(formatProblem).join("\n")}`);

  const call = (rpcName: string): UnaryCall => {
    const rpc = siblingMethod(method, rpcName) ?? fail(`names ${rpcName}, which its service lacks`);
    const fn = client[rpc.localName];
    if (typeof fn !== "function") fail(`needs the client to have ${rpc.localName}(), and it does not (a client of another service?)`);
    return (fn as UnaryCall).bind(client);
  };
  const keyOf = (rpcName: string, keyField: string): string => {
    const rpc = siblingMethod(method, rpcName)!;
    return rpc.input.fields.find((f) => f.name === keyField)!.localName;
  };
  // Only the deadline: the engine makes a step's abort signal when the step reads it, and a
  // call bounded by its deadline needs none.
  const callOptions = (ctx: StepContext<I>): CallOptions => ({ timeoutMs: ctx.timeoutMs });

  const action = call(method.name);
  // The checker has made sure the key field exists and is a string wherever one is declared.
  const actionKey = option.idempotencyKeyField ? keyOf(method.name, option.idempotencyKeyField) : undefined;
  const { request: buildRequest, output, ...policies } = options;
  const run = async (ctx: StepContext<I>): Promise<Json> => {
    // request() builds a fresh object per call, so the key is set on it rather than on a copy.
    const request = buildRequest(ctx) as Record<string, unknown>;
    if (actionKey) request[actionKey] = ctx.key;
    const response = (await action(request, callOptions(ctx))) as MessageShape<Out>;
    return output ? output(response, ctx) : null;
  };

  /** The compensation or confirmation named `rpcName`, called with only the key. */
  const follower = (rpcName: string): ((ctx: StepContext<I>) => Promise<void>) => {
    const fn = call(rpcName);
    const follow = sagaMethodOf(siblingMethod(method, rpcName)!)!;
    const key = keyOf(rpcName, follow.idempotencyKeyField);
    return async (ctx) => void (await fn({ [key]: ctx.key }, callOptions(ctx)));
  };
  const acts = option.role === Role.ACTION;
  return step<I>(name, run, {
    ...policies,
    ...(acts && option.compensation ? { compensate: follower(option.compensation) } : {}),
    ...(acts && option.confirmation ? { confirm: follower(option.confirmation) } : {}),
  });
}
