// tldraw sync as tldraw's self-hosting example (templates/simple-server-example) runs it: one
// TLSocketRoom per room, loaded on its first socket and closed with its last one, its state in
// SQLiteSyncStorage, one SQLite file per room. The example serves it with fastify's websocket
// plugin, a wrapper around `ws`; here `ws` is used directly (the upgrade is all it serves).
// The example's current README uses node:sqlite (Node >= 22.13); this box has Node 20, so the
// database is better-sqlite3, which NodeSqliteWrapper documents as the other driver it takes
// (and which the example used before). Its defaults stand: rollback journal, synchronous=FULL,
// so every push is one committed transaction before it is answered and broadcast.
//
// `--persist snapshot` runs the example as it was before SQLiteSyncStorage: rooms in memory (the default InMemorySyncStorage), marked dirty by
// onDataChange, and every 2 s each dirty room's getCurrentSnapshot() written to DATA_DIR/ROOM as
// JSON (writeFile, no fsync).
//
//   node bench/peers/tldraw.mjs PORT DATA_DIR [--persist sqlite|snapshot]
//                                               serve ws://127.0.0.1:PORT/connect/ROOM?sessionId=
//   node bench/peers/tldraw.mjs --schema        print the serialized default schema (clients
//                                               must send it in their `connect` message)
import { mkdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { NodeSqliteWrapper, SQLiteSyncStorage, TLSocketRoom } from "@tldraw/sync-core";
import { createTLSchema } from "@tldraw/tlschema";
import Database from "better-sqlite3";
import { WebSocketServer } from "ws";

if (process.argv[2] === "--schema") {
  // TLSocketRoom's default schema is createTLSchema() (the default shapes and bindings).
  console.log(JSON.stringify(createTLSchema().serialize()));
  process.exit(0);
}

const port = Number(process.argv[2]);
const dataDir = process.argv[3];
const persist = process.argv[4] === "--persist" ? process.argv[5] : "sqlite";
if (!port || !dataDir || !["sqlite", "snapshot"].includes(persist)) {
  console.error("usage: node tldraw.mjs PORT DATA_DIR [--persist sqlite|snapshot] | --schema");
  process.exit(2);
}
mkdirSync(dataDir, { recursive: true });

const rooms = new Map();
// Room ids become file names: keep them to a safe alphabet, as the example does.
const fileOf = (roomId) => join(dataDir, roomId.replace(/[^a-zA-Z0-9_-]/g, "_"));

function makeOrLoadRoom(roomId) {
  const existing = rooms.get(roomId);
  if (existing && !existing.room.isClosed()) return existing.room;
  const state = { room: null, needsPersist: false };
  let db = null;
  const options = {
    onSessionRemoved(room, { numSessionsRemaining }) {
      if (numSessionsRemaining === 0) {
        if (state.needsPersist) saveSnapshot(roomId, state);
        room.close();
        db?.close();
        rooms.delete(roomId);
      }
    },
  };
  if (persist === "sqlite") {
    db = new Database(`${fileOf(roomId)}.db`);
    options.storage = new SQLiteSyncStorage({ sql: new NodeSqliteWrapper(db) });
  } else {
    options.initialSnapshot = readSnapshot(roomId);
    options.onDataChange = () => {
      state.needsPersist = true;
    };
  }
  state.room = new TLSocketRoom(options);
  rooms.set(roomId, state);
  return state.room;
}

function readSnapshot(roomId) {
  try {
    return JSON.parse(readFileSync(`${fileOf(roomId)}.json`, "utf8"));
  } catch {
    return undefined;
  }
}

function saveSnapshot(roomId, state) {
  state.needsPersist = false;
  writeFile(`${fileOf(roomId)}.json`, JSON.stringify(state.room.getCurrentSnapshot())).catch((e) =>
    console.error("saving snapshot", roomId, e),
  );
}

if (persist === "snapshot") {
  setInterval(() => {
    for (const [roomId, state] of rooms) if (state.needsPersist) saveSnapshot(roomId, state);
  }, 2000);
}

const http = createServer((_req, res) => res.end("tldraw sync peer\n"));
const wss = new WebSocketServer({ noServer: true });
http.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://localhost");
  const match = /^\/connect\/([^/]+)$/.exec(url.pathname);
  const sessionId = url.searchParams.get("sessionId");
  if (!match || !sessionId) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    makeOrLoadRoom(decodeURIComponent(match[1])).handleSocketConnect({ sessionId, socket: ws });
  });
});

function shutdown() {
  for (const { room } of rooms.values()) room.close();
  http.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

http.listen(port, "127.0.0.1", () => console.log(`tldraw ready on 127.0.0.1:${port}`));
