// The baseline for bench/ping.ts: a bare `ws` server that echoes every frame, nothing else.
import { WebSocketServer, type WebSocket } from "ws";

const server = new WebSocketServer({ host: "127.0.0.1", port: 0 }, () => {
  const address = server.address();
  if (typeof address === "object" && address)
    process.stdout.write(`listening ws://127.0.0.1:${address.port}\n`);
});
server.on("connection", (socket: WebSocket) => socket.on("message", (data) => socket.send(String(data))));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
