/**
 * Reading the `(saga.options.v1.saga)` method option. The option travels inside the method's
 * `MethodOptions` as an extension, so it is read the same way whether the descriptor comes
 * from generated code, a `buf build` image, a protoc plugin request or server reflection.
 */
import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import { Role, saga, type SagaMethod } from "#gen/saga/options/v1/options_pb.js";

/** The saga option of `method`, or undefined when the RPC carries none. */
export function sagaMethodOf(method: DescMethod): SagaMethod | undefined {
  return hasOption(method, saga) ? getOption(method, saga) : undefined;
}

/** `READ`, `ACTION`…, as written in the proto without its prefix; `UNSPECIFIED` or the number for anything else. */
export function roleName(role: Role): string {
  const name = Role[role] as string | undefined;
  return name ?? `${role}`;
}

/** The RPC of `method`'s service named `name` (the proto name, e.g. "VoidPayment"), if any. */
export function siblingMethod(method: DescMethod, name: string): DescMethod | undefined {
  return method.parent.methods.find((m) => m.name === name);
}
