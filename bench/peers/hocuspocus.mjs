// Hocuspocus (Yjs) as its documentation sets it up: `new Server({...})` with the SQLite
// extension storing each document in a file database, every other option at its default
// (stores debounced 2 s, at most 10 s; broadcasts coalesced per event-loop turn).
//
//   node bench/peers/hocuspocus.mjs PORT DATA_DIR
//
// Documents are named by the bench's board (`r0`, `r1`, ...); the database is
// DATA_DIR/hocuspocus.sqlite, table `documents` (name, data = Y.encodeStateAsUpdate).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SQLite } from "@hocuspocus/extension-sqlite";
import { Server } from "@hocuspocus/server";

const port = Number(process.argv[2]);
const dataDir = process.argv[3];
if (!port || !dataDir) {
  console.error("usage: node hocuspocus.mjs PORT DATA_DIR");
  process.exit(2);
}
mkdirSync(dataDir, { recursive: true });

const server = new Server({
  port,
  address: "127.0.0.1",
  quiet: true,
  extensions: [new SQLite({ database: join(dataDir, "hocuspocus.sqlite") })],
});
await server.listen();
console.log(`hocuspocus ready on 127.0.0.1:${port}`);
