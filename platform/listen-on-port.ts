import type { Server } from "node:net";

/**
 * Starts `server` listening on `host`:`port` and resolves once it does, with the port actually
 * bound (a free one for port 0), so a caller can give its URL.
 * @throws the listen error (the port in use, or not allowed), leaving the server not listening.
 */
export async function listenOnPort(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === "object" && address ? address.port : port;
}
