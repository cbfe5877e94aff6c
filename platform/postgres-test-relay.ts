import net from "node:net";

/**
 * A TCP relay in front of a PostgreSQL server, for tests that take the database away: `cut`
 * drops every connection and refuses new ones until `restore`, as a server restart or a network
 * cut would; `loseNextAnswer` drops the server's next reply and cuts that connection, as a
 * network failure after the server committed would. Test code only.
 */
export interface Relay {
  readonly url: string;
  /** Drops every connection and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  /** The server's next reply (on any connection) is dropped and its connection cut. */
  loseNextAnswer(): void;
  close(): Promise<void>;
}

export async function startRelay(url: string): Promise<Relay> {
  const server = new URL(url);
  const sockets = new Set<net.Socket>();
  let down = false;
  let loseNext = false;
  const relay = net.createServer((inbound) => {
    if (down) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect(Number(server.port || 5432), server.hostname);
    const cut = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => {
        sockets.delete(s);
        cut();
      });
      s.on("error", cut);
    }
    inbound.on("data", (chunk) => outbound.write(chunk));
    outbound.on("data", (chunk) => {
      if (!loseNext) return void inbound.write(chunk);
      loseNext = false;
      cut();
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const relayed = new URL(url);
  relayed.hostname = "127.0.0.1";
  relayed.port = String((relay.address() as net.AddressInfo).port);
  return {
    url: relayed.toString(),
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    loseNextAnswer() {
      loseNext = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        relay.close(() => resolve());
      }),
  };
}
