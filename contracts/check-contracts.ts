/**
 * The rules of the `(saga.options.v1.saga)` option, checked over file descriptors. A saga
 * engine trusts the option to pair each action with the RPC that undoes it and the RPC that
 * makes it final, and to name the request field that carries the idempotency key; a contract
 * that breaks one of these rules would pair a step wrongly or lose its key at run time, so the
 * check runs at `buf generate` time (`protoc-gen-saga-check.ts`) and in the tests.
 */
import { ScalarType, type DescField, type DescFile, type DescMethod, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { Role, type SagaMethod } from "#gen/saga/options/v1/options_pb.js";
import { roleName, sagaMethodOf, siblingMethod } from "./saga-method.js";

/** Which rule a problem breaks; stable, so tests and tools can match on it. */
export type ContractRule =
  /** The service uses the option on some RPC but not on this unary one. */
  | "missing-option"
  /** A streaming RPC with a role other than TRANSPORT. */
  | "streaming-not-transport"
  /** The role is ROLE_UNSPECIFIED or a number the enum does not have. */
  | "unknown-role"
  /** An ACTION with side effects and no compensation. */
  | "missing-compensation"
  /** An ACTION marked no_side_effect that still names a compensation. */
  | "no-side-effect-with-compensation"
  /** A compensation or confirmation name that is not an RPC of the same service. */
  | "unknown-method"
  /** A compensation or confirmation that names an RPC whose role is not COMPENSATION / CONFIRMATION. */
  | "wrong-role"
  /** A role other than ACTION that names a compensation or confirmation, or sets no_side_effect. */
  | "not-an-action"
  /** A COMPENSATION or CONFIRMATION that no ACTION of the service names. */
  | "dangling"
  /** No idempotency_key_field where one is needed, or one the request does not have. */
  | "missing-key-field"
  /** The key field is not a singular string. */
  | "key-field-type"
  /** The compensation's or confirmation's key field has another name or type than the action's. */
  | "key-field-mismatch";

/** One thing wrong in a contract, with where it is. */
export interface ContractProblem {
  /** The .proto file, as protoc names it (e.g. `saga/payments/v1/payments.proto`). */
  readonly file: string;
  /** The service's full name (e.g. `saga.payments.v1.PaymentsService`). */
  readonly service: string;
  /** The RPC's name (e.g. `ProcessPayment`). */
  readonly rpc: string;
  readonly rule: ContractRule;
  /** What is wrong, in a sentence that makes sense on its own after the location. */
  readonly message: string;
}

/**
 * Every problem in the saga options of the services of `files`, in file, service and RPC
 * order. A service where no RPC carries the option takes no part in sagas and is skipped.
 * Pure: it reads the descriptors and changes nothing.
 */
export function checkContracts(files: Iterable<DescFile> | FileRegistry): ContractProblem[] {
  const list = "files" in files ? files.files : files;
  const problems: ContractProblem[] = [];
  for (const file of list) {
    for (const service of file.services) problems.push(...checkService(service));
  }
  return problems;
}

/** One line per problem: `file: Service.Rpc: message [rule]`. */
export function formatProblem(problem: ContractProblem): string {
  return `${problem.file}: ${problem.service}.${problem.rpc}: ${problem.message} [${problem.rule}]`;
}

/** The problems of one service (none when no RPC of it carries the option). */
export function checkService(service: DescService): ContractProblem[] {
  const options = new Map<DescMethod, SagaMethod>();
  for (const method of service.methods) {
    const option = sagaMethodOf(method);
    if (option) options.set(method, option);
  }
  if (options.size === 0) return [];

  const problems: ContractProblem[] = [];
  const report = (method: DescMethod, rule: ContractRule, message: string): void => {
    problems.push({ file: service.file.proto.name, service: service.typeName, rpc: method.name, rule, message });
  };
  // Which action names each compensation and confirmation, to find the dangling ones.
  const namedBy = new Map<DescMethod, DescMethod[]>();

  for (const method of service.methods) {
    const option = options.get(method);
    const streaming = method.methodKind !== "unary";
    if (!option) {
      if (!streaming) {
        report(method, "missing-option", `carries no (saga.options.v1.saga) option, but other RPCs of ${service.name} do: every unary RPC needs one`);
      }
      continue;
    }
    const role = option.role;
    if (!(role in Role) || role === Role.UNSPECIFIED) {
      report(method, "unknown-role", `has role ${roleName(role)}; it must be one of READ, ACTION, COMPENSATION, CONFIRMATION, TRANSPORT`);
      continue;
    }
    if (streaming && role !== Role.TRANSPORT) {
      report(
        method,
        "streaming-not-transport",
        `is ${method.methodKind.replace("_", "-")} with role ${roleName(role)}; a streaming RPC may only be TRANSPORT`,
      );
    }
    if (role !== Role.ACTION) {
      const extras = [
        option.compensation && `compensation "${option.compensation}"`,
        option.confirmation && `confirmation "${option.confirmation}"`,
        option.noSideEffect && "no_side_effect",
      ].filter(Boolean);
      if (extras.length > 0) report(method, "not-an-action", `has role ${roleName(role)} but sets ${extras.join(", ")}, which only an ACTION may`);
    }
    if (role === Role.ACTION) checkAction(method, option, report, namedBy);
    if (role === Role.COMPENSATION || role === Role.CONFIRMATION) checkKeyField(method, option.idempotencyKeyField, report);
  }

  for (const [method, option] of options) {
    if ((option.role === Role.COMPENSATION || option.role === Role.CONFIRMATION) && !namedBy.has(method)) {
      const as = option.role === Role.COMPENSATION ? "compensation" : "confirmation";
      report(method, "dangling", `is a ${roleName(option.role)} that no ACTION of ${service.name} names as its ${as}`);
    }
  }
  return problems;
}

type Report = (method: DescMethod, rule: ContractRule, message: string) => void;

function checkAction(action: DescMethod, option: SagaMethod, report: Report, namedBy: Map<DescMethod, DescMethod[]>): void {
  if (option.noSideEffect && option.compensation) {
    report(action, "no-side-effect-with-compensation", `is no_side_effect but names compensation "${option.compensation}"`);
  }
  if (!option.noSideEffect && !option.compensation) {
    report(
      action,
      "missing-compensation",
      "is an ACTION without a compensation; name the RPC that undoes it, or set no_side_effect if it changes nothing",
    );
  }
  const keyField = option.noSideEffect && !option.idempotencyKeyField ? undefined : checkKeyField(action, option.idempotencyKeyField, report);

  const partners: Array<[kind: "compensation" | "confirmation", name: string, role: Role]> = [
    ["compensation", option.compensation, Role.COMPENSATION],
    ["confirmation", option.confirmation, Role.CONFIRMATION],
  ];
  for (const [kind, name, wanted] of partners) {
    if (!name) continue;
    const partner = siblingMethod(action, name);
    if (!partner) {
      report(action, "unknown-method", `names ${kind} "${name}", which is not an RPC of ${action.parent.name}`);
      continue;
    }
    namedBy.set(partner, [...(namedBy.get(partner) ?? []), action]);
    const partnerOption = sagaMethodOf(partner);
    if (partnerOption?.role !== wanted) {
      const has = partnerOption ? `role ${roleName(partnerOption.role)}` : "no saga option";
      report(action, "wrong-role", `names ${kind} "${name}", which has ${has}; it must have role ${roleName(wanted)}`);
      continue;
    }
    if (!keyField || !partnerOption.idempotencyKeyField) continue;
    const partnerField = partner.input.fields.find((f) => f.name === partnerOption.idempotencyKeyField);
    if (!partnerField) continue; // reported on the partner itself
    if (partnerField.name !== keyField.name) {
      report(action, "key-field-mismatch", `puts its key in "${keyField.name}", but its ${kind} ${name} reads it from "${partnerField.name}"`);
    } else if (fieldType(partnerField) !== fieldType(keyField)) {
      report(
        action,
        "key-field-mismatch",
        `has key field "${keyField.name}" of type ${fieldType(keyField)}, but its ${kind} ${name} has it as ${fieldType(partnerField)}`,
      );
    }
  }
}

/** Checks that `method` declares a key field its request has, a singular string; returns the field when it exists. */
function checkKeyField(method: DescMethod, name: string, report: Report): DescField | undefined {
  if (!name) {
    report(
      method,
      "missing-key-field",
      "sets no idempotency_key_field; an ACTION with side effects, a COMPENSATION and a CONFIRMATION each need one",
    );
    return undefined;
  }
  const field = method.input.fields.find((f) => f.name === name);
  if (!field) {
    report(method, "missing-key-field", `names idempotency_key_field "${name}", but its request ${method.input.typeName} has no such field`);
    return undefined;
  }
  if (!(field.fieldKind === "scalar" && field.scalar === ScalarType.STRING)) {
    report(
      method,
      "key-field-type",
      `has idempotency_key_field "${name}" of type ${fieldType(field)} in ${method.input.typeName}; it must be a singular string`,
    );
  }
  return field;
}

/** A field's type as it is written in the proto: `string`, `repeated int64`, `map<string, Foo>`… */
function fieldType(field: DescField): string {
  const scalar = (t: ScalarType): string => ScalarType[t].toLowerCase();
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return field.enum.typeName;
    case "message":
      return field.message.typeName;
    case "list":
      return `repeated ${field.listKind === "scalar" ? scalar(field.scalar) : field.listKind === "enum" ? field.enum.typeName : field.message.typeName}`;
    case "map":
      return `map<${scalar(field.mapKey)}, ${field.mapKind === "scalar" ? scalar(field.scalar) : field.mapKind === "enum" ? field.enum.typeName : field.message.typeName}>`;
  }
}
