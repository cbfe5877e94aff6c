import { createClient, ConnectError, Code, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { OrchestratorService, SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";

/** The orchestrator's API as the gateway serves it to the console (gateway/orchestrator-connect-api.ts). */
export type OrchestratorClient = Client<typeof OrchestratorService>;

/** Where the gateway serves the Connect API (gateway/orchestrator-connect-api.ts, CONNECT_API_PREFIX). */
const API_PATH = "/api";

/** A typed client of the gateway's Connect API that sends `credential` (an API key or a JWT) as a bearer token. */
export function createOrchestratorClient(credential: string): OrchestratorClient {
  const bearer: Interceptor = (next) => (request) => {
    if (credential !== "") request.header.set("Authorization", `Bearer ${credential}`);
    return next(request);
  };
  const transport = createConnectTransport({ baseUrl: new URL(API_PATH, window.location.origin).toString(), interceptors: [bearer] });
  return createClient(OrchestratorService, transport);
}

/** Statuses an operator filters by, in the order the console shows them. */
export const STATUSES: readonly SagaStatus[] = [
  SagaStatus.RUNNING,
  SagaStatus.CONFIRMING,
  SagaStatus.COMPENSATING,
  SagaStatus.NEEDS_ATTENTION,
  SagaStatus.COMPLETED,
  SagaStatus.COMPENSATED,
  SagaStatus.RESOLVED,
];

/** `NEEDS_ATTENTION` for SagaStatus.NEEDS_ATTENTION. */
export const statusName = (status: SagaStatus): string => SagaStatus[status] ?? "UNSPECIFIED";

/** A timestamp in ms since the epoch, or undefined when absent. */
export const msOf = (t: Timestamp | undefined): number | undefined => (t ? timestampMs(t) : undefined);

/** Whether an error means the credential is missing (401) or refused (403). */
export function isCredentialError(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return code === Code.Unauthenticated || code === Code.PermissionDenied;
}

/** An error as one line an operator can read: the server's message (the gateway names the field at fault). */
export function describe(err: unknown): string {
  const e = ConnectError.from(err);
  return `${Code[e.code] ?? e.code}: ${e.rawMessage}`;
}
