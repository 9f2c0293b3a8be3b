/** Loopback port helpers for tests of the browser login's listener. */
import { createServer, type Server } from "node:net";

/** Whether `port` on 127.0.0.1 can be bound right now (then it is released again). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** Holds a port on 127.0.0.1 (port 0: any) until `close()`. */
export async function holdPort(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address() as { port: number };
  return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Free ports on 127.0.0.1, found by binding port 0 and releasing it. */
export async function freePorts(count: number): Promise<number[]> {
  const held = await Promise.all(Array.from({ length: count }, () => holdPort()));
  await Promise.all(held.map((h) => h.close()));
  return held.map((h) => h.port);
}
