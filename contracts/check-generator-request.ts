/**
 * The protoc plugin's work, apart from its stdin and stdout: a `CodeGeneratorRequest` in, a
 * `CodeGeneratorResponse` out that writes no files and carries every contract problem as its
 * `error`, which makes `buf generate` (or protoc) fail with them.
 */
import { create, createFileRegistry, maximumEdition, minimumEdition } from "@bufbuild/protobuf";
import {
  CodeGeneratorResponse_Feature,
  CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
  type CodeGeneratorRequest,
  type CodeGeneratorResponse,
} from "@bufbuild/protobuf/wkt";
import { checkContracts, formatProblem } from "./check-contracts.js";

/**
 * Checks the files the request asks to generate (their imports are only read, to resolve
 * references) and answers with the problems found, or with an empty response.
 */
export function checkGeneratorRequest(request: CodeGeneratorRequest): CodeGeneratorResponse {
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: request.protoFile }));
  const files = request.fileToGenerate.map((name) => {
    const file = registry.getFile(name);
    if (!file) throw new Error(`the request asks to generate ${name} but holds no descriptor of it`);
    return file;
  });
  const problems = checkContracts(files);
  return create(CodeGeneratorResponseSchema, {
    // The check reads descriptors only, so proto3 optional fields and editions change nothing for it.
    supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL | CodeGeneratorResponse_Feature.SUPPORTS_EDITIONS),
    minimumEdition,
    maximumEdition,
    ...(problems.length > 0
      ? { error: `${problems.length} saga contract problem${problems.length === 1 ? "" : "s"}:\n${problems.map(formatProblem).join("\n")}` }
      : {}),
  });
}
