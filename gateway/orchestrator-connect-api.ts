import { Code, ConnectError, createContextKey, createContextValues, type Client, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import type { OperatorAuthenticator, OperatorRequest } from "./operator-auth.js";

/** Where the gateway serves the orchestrator's API to browsers (the Connect protocol, and gRPC-web). */
export const CONNECT_API_PREFIX = "/api";

/** Deadline of each forwarded unary call. */
const FORWARD_TIMEOUT_MS = 5_000;

/** The methods served (StartSaga and Exchange answer UNIMPLEMENTED). */
const SERVED = ["GetSaga", "ListSagas", "WatchSagas", "RetrySaga", "ForceCompensateSaga", "ResolveSaga"];

const OPERATOR_REQUEST = createContextKey<OperatorRequest>({ authorization: undefined, remoteAddress: undefined, host: undefined });
const PRINCIPAL = createContextKey<string>("");

/** Every call passes the operator authentication first: 401 (UNAUTHENTICATED) without a credential, 403 (PERMISSION_DENIED) with a wrong one. */
function authenticateCalls(auth: OperatorAuthenticator): Interceptor {
  return (next) => async (req) => {
    const result = await auth.authenticate(req.contextValues.get(OPERATOR_REQUEST));
    if (!result.ok) throw new ConnectError(result.message, result.status === 401 ? Code.Unauthenticated : Code.PermissionDenied);
    req.contextValues.set(PRINCIPAL, result.principal);
    return next(req);
  };
}

/** The actor of an operator action: the authenticated principal. A caller that names one itself is told it may not. */
function actorOf(request: { actor: string }, context: HandlerContext): string {
  if (request.actor !== "") throw new ConnectError("actor: set by the gateway from the credential, not by the caller", Code.InvalidArgument);
  return context.values.get(PRINCIPAL);
}

/**
 * The orchestrator's read API and operator actions, served with the Connect protocol
 * (`@connectrpc/connect-node`) for the console and any Connect, gRPC-web or `buf curl` client,
 * and forwarded over the gateway's gRPC client: GetSaga, ListSagas, WatchSagas (a live server
 * stream, cancelled when the browser goes away), RetrySaga, ForceCompensateSaga, ResolveSaga,
 * whose actor is the authenticated operator. StartSaga and Exchange are not served here
 * (`POST /saga` starts sagas): they answer UNIMPLEMENTED. Mount it under
 * `CONNECT_API_PREFIX` (Express strips the prefix).
 */
export function orchestratorConnectApi(orchestrator: Client<typeof OrchestratorService>, auth: OperatorAuthenticator) {
  return connectNodeAdapter({
    interceptors: [authenticateCalls(auth)],
    // A path that names no served method: a JSON 404 like the rest of the gateway's.
    fallback: (_req, res) => {
      const body = JSON.stringify({ error: `not found: ${CONNECT_API_PREFIX} serves ${OrchestratorService.typeName}/{${SERVED.join(",")}}` });
      res.writeHead(404, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
      res.end(body);
    },
    contextValues: (req) =>
      createContextValues().set(OPERATOR_REQUEST, {
        authorization: req.headers.authorization,
        remoteAddress: req.socket.remoteAddress,
        host: req.headers.host,
      }),
    routes: (router) =>
      router.service(OrchestratorService, {
        getSaga: (request, context) => orchestrator.getSaga(request, { signal: context.signal, timeoutMs: FORWARD_TIMEOUT_MS }),
        listSagas: (request, context) => orchestrator.listSagas(request, { signal: context.signal, timeoutMs: FORWARD_TIMEOUT_MS }),
        watchSagas: (request, context) => orchestrator.watchSagas(request, { signal: context.signal }),
        retrySaga: (request, context) =>
          orchestrator.retrySaga({ ...request, actor: actorOf(request, context) }, { signal: context.signal, timeoutMs: FORWARD_TIMEOUT_MS }),
        forceCompensateSaga: (request, context) =>
          orchestrator.forceCompensateSaga(
            { ...request, actor: actorOf(request, context) },
            { signal: context.signal, timeoutMs: FORWARD_TIMEOUT_MS },
          ),
        resolveSaga: (request, context) =>
          orchestrator.resolveSaga({ ...request, actor: actorOf(request, context) }, { signal: context.signal, timeoutMs: FORWARD_TIMEOUT_MS }),
      }),
  });
}
