/** A TCP server on loopback that accepts connections and never answers (a hung gateway). */
import { createServer, type Socket } from "node:net";
import { onCleanup } from "./cleanup.js";

export interface BlackHole {
  url: string;
  connections(): number;
  close(): Promise<void>;
}

export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  onCleanup("black hole", close);
  return { url: `http://127.0.0.1:${port}/v1`, connections: () => count, close };
}
