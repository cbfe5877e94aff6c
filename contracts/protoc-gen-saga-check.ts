/**
 * protoc-gen-saga-check: a protoc plugin that generates nothing and fails generation when a
 * contract breaks a rule of the saga option (`check-contracts.ts`). `buf.gen.yaml` runs it
 * beside protoc-gen-es: `node --import tsx contracts/protoc-gen-saga-check.ts`.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, CodeGeneratorResponseSchema } from "@bufbuild/protobuf/wkt";
import { checkGeneratorRequest } from "./check-generator-request.js";

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const response = checkGeneratorRequest(fromBinary(CodeGeneratorRequestSchema, Buffer.concat(chunks)));
process.stdout.write(toBinary(CodeGeneratorResponseSchema, response));
