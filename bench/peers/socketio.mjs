// A Socket.IO relay in the style of excalidraw-room (Excalidraw's collaboration server): a
// client joins a room by id, and every `server-broadcast` (an encrypted scene update and its
// IV) is re-emitted to the room's other sockets as `client-broadcast`. Nothing is stored:
// Excalidraw keeps scenes in the browsers (and optionally Firebase), never on this server.
// The options are excalidraw-room's (websocket and polling transports, EIO3 allowed, CORS);
// express, which it only uses to serve a landing page, is left out.
//
//   node bench/peers/socketio.mjs PORT
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
if (!port) {
  console.error("usage: node socketio.mjs PORT");
  process.exit(2);
}

const http = createServer((_req, res) => res.end("socket.io relay peer\n"));
const io = new Server(http, {
  transports: ["websocket", "polling"],
  cors: { origin: "*", credentials: true },
  allowEIO3: true,
});

io.on("connection", (socket) => {
  io.to(socket.id).emit("init-room");
  socket.on("join-room", async (roomID) => {
    await socket.join(roomID);
    const sockets = await io.in(roomID).fetchSockets();
    if (sockets.length <= 1) {
      io.to(socket.id).emit("first-in-room");
    } else {
      socket.broadcast.to(roomID).emit("new-user", socket.id);
    }
    // As excalidraw-room does: everyone gets the full member list on every join.
    io.in(roomID).emit(
      "room-user-change",
      sockets.map((s) => s.id),
    );
  });
  socket.on("server-broadcast", (roomID, data, iv) => {
    socket.broadcast.to(roomID).emit("client-broadcast", data, iv);
  });
  socket.on("server-volatile-broadcast", (roomID, data, iv) => {
    socket.volatile.broadcast.to(roomID).emit("client-broadcast", data, iv);
  });
});

function shutdown() {
  io.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

http.listen(port, "127.0.0.1", () => console.log(`socketio ready on 127.0.0.1:${port}`));
