import { createServer, connect, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listenOnPort } from "./listen-on-port.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
});
const server = () => {
  const s = createServer((socket) => socket.end("hello"));
  servers.push(s);
  return s;
};

describe("listenOnPort", () => {
  it("on port 0 resolves with the free port it bound, which answers", async () => {
    const port = await listenOnPort(server(), 0, "127.0.0.1");
    expect(port).toBeGreaterThan(0);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let data = "";
      socket.on("data", (chunk) => (data += chunk));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    expect(answer).toBe("hello");
  });

  it("rejects with the listen error when the port is taken, leaving the second server not listening", async () => {
    const port = await listenOnPort(server(), 0, "127.0.0.1");
    const second = server();
    await expect(listenOnPort(second, port, "127.0.0.1")).rejects.toMatchObject({ code: "EADDRINUSE" });
    expect(second.listening).toBe(false);
    expect(second.listenerCount("error")).toBe(0);
  });
});
