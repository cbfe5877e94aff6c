/**
 * The contracts a running gRPC server describes through server reflection (v1): every
 * service it lists, with the files that define them and their imports, as a registry whose
 * methods still carry their options. It is how a user sees what a deployed service says of
 * its part in sagas, with nothing but its address.
 */
import { create, createFileRegistry, fromBinary, type DescService, type FileRegistry, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_descriptor,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ServerReflection, type ServerReflectionRequestSchema, type ServerReflectionResponse } from "#gen/grpc/reflection/v1/reflection_pb.js";

type ReflectionRequest = MessageInitShape<typeof ServerReflectionRequestSchema>;

/** What a server describes: its services, in the order it lists them, and every file they need. */
export interface ReflectedContracts {
  readonly url: string;
  readonly services: readonly DescService[];
  readonly registry: FileRegistry;
}

/**
 * `127.0.0.1:5002` or `http://127.0.0.1:5002` as a base URL.
 * @throws Error naming the address when it is not `host:port` or an http URL with a port.
 */
export function serverUrl(address: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(address) ? address : `http://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`"${address}" is not a server address; give host:port, e.g. 127.0.0.1:5002`);
  }
  if (url.protocol !== "http:" || url.port === "" || url.pathname !== "/" || url.search !== "") {
    throw new Error(`"${address}" is not a server address; give host:port, e.g. 127.0.0.1:5002 (plaintext HTTP/2 only)`);
  }
  return `http://${url.host}`;
}

/**
 * Asks the server at `address` for its services and their files.
 * @throws ConnectError when the server cannot be reached or has no reflection, Error when it
 *   answers a reflection request with an error or leaves a file's import out.
 */
export async function reflectContracts(address: string, options: { timeoutMs?: number } = {}): Promise<ReflectedContracts> {
  const url = serverUrl(address);
  const client = createClient(ServerReflection, createGrpcTransport({ baseUrl: url }));
  const timeoutMs = options.timeoutMs ?? 5_000;

  const ask = async (messageRequest: ReflectionRequest["messageRequest"]): Promise<ServerReflectionResponse> => {
    const request: ReflectionRequest = { messageRequest };
    async function* one(): AsyncGenerator<ReflectionRequest> {
      yield request;
    }
    for await (const response of client.serverReflectionInfo(one(), { timeoutMs })) {
      if (response.messageResponse.case === "errorResponse") {
        const { errorCode, errorMessage } = response.messageResponse.value;
        throw new Error(`${url} answered reflection request ${describe(messageRequest)} with error ${errorCode}: ${errorMessage}`);
      }
      return response;
    }
    throw new Error(`${url} closed the reflection stream without answering ${describe(messageRequest)}`);
  };

  const listed = await ask({ case: "listServices", value: "*" });
  const names = listed.messageResponse.case === "listServicesResponse" ? listed.messageResponse.value.service.map((s) => s.name) : [];

  const files = new Map<string, FileDescriptorProto>();
  const take = (response: ServerReflectionResponse): void => {
    if (response.messageResponse.case !== "fileDescriptorResponse") return;
    for (const bytes of response.messageResponse.value.fileDescriptorProto) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      if (!files.has(file.name)) files.set(file.name, file);
    }
  };
  for (const name of names) take(await ask({ case: "fileContainingSymbol", value: name }));
  // A file's imports that only its options use (the saga options proto) are not sent with it.
  for (let missing = missingImports(files); missing.length > 0; missing = missingImports(files)) {
    for (const name of missing) {
      if (name === file_google_protobuf_descriptor.proto.name) files.set(name, file_google_protobuf_descriptor.proto);
      else take(await ask({ case: "fileByFilename", value: name }));
      if (!files.has(name)) throw new Error(`${url} did not send ${name}, which its files import`);
    }
  }

  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: importsFirst(files) }));
  const services = names.map((name) => {
    const service = registry.getService(name);
    if (!service) throw new Error(`${url} lists service ${name} but sent no file defining it`);
    return service;
  });
  return { url, services, registry };
}

/** The files in an order where each comes after its imports, as a registry reads a set. */
function importsFirst(files: ReadonlyMap<string, FileDescriptorProto>): FileDescriptorProto[] {
  const ordered: FileDescriptorProto[] = [];
  const seen = new Set<string>();
  const visit = (file: FileDescriptorProto): void => {
    if (seen.has(file.name)) return;
    seen.add(file.name);
    for (const name of file.dependency) {
      const dependency = files.get(name);
      if (dependency) visit(dependency);
    }
    ordered.push(file);
  };
  for (const file of files.values()) visit(file);
  return ordered;
}

function missingImports(files: ReadonlyMap<string, FileDescriptorProto>): string[] {
  return [...new Set([...files.values()].flatMap((f) => f.dependency).filter((d) => !files.has(d)))];
}

function describe(messageRequest: ReflectionRequest["messageRequest"]): string {
  return messageRequest ? `${messageRequest.case}${typeof messageRequest.value === "string" ? ` "${messageRequest.value}"` : ""}` : "(empty)";
}
