#!/usr/bin/env node
// Is a Kafka broker ready to serve clients? Used by services.sh while the local broker starts.
//
// Usage: node infra/scripts/kafka-ready.mjs HOST:PORT [timeoutMs]
// Exit 0 and print "cluster=<id> brokers=<n> controller=<id>" once the broker answers a
// Metadata request that lists at least one broker; exit 1 otherwise.
//
// Why raw protocol instead of kafkajs: services.sh runs from `./dev services up`, which may
// run before `pnpm install`, so this must not import anything. An open TCP port is not
// enough: a KRaft broker accepts connections before it is unfenced, and until then Metadata
// lists no brokers and topic creation fails. Metadata v4 is used because Kafka 4.0 removed
// v0-v3 (KIP-896) and v4 is still non-flexible (plain int16 strings, int32 arrays).
import net from "node:net";

const [target, timeoutArg] = process.argv.slice(2);
if (!target?.includes(":")) {
  console.error("usage: kafka-ready.mjs HOST:PORT [timeoutMs]");
  process.exit(2);
}
const sep = target.lastIndexOf(":");
const host = target.slice(0, sep);
const port = Number(target.slice(sep + 1));
const timeoutMs = Number(timeoutArg ?? 2000);

const API_METADATA = 3;
const VERSION = 4;
const CORRELATION_ID = 0x6d74;
const clientId = Buffer.from("meshtune-kafka-ready");

function request() {
  // header v1: api_key int16, api_version int16, correlation_id int32, client_id string
  // body v4: topics array (0 = none, we only want brokers), allow_auto_topic_creation int8
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let o = 0;
  o = body.writeInt16BE(API_METADATA, o);
  o = body.writeInt16BE(VERSION, o);
  o = body.writeInt32BE(CORRELATION_ID, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(0, o);
  body.writeInt8(0, o);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function parse(buf) {
  let o = 0;
  const int32 = () => {
    const v = buf.readInt32BE(o);
    o += 4;
    return v;
  };
  const str = () => {
    const len = buf.readInt16BE(o);
    o += 2;
    if (len < 0) return null;
    const s = buf.toString("utf8", o, o + len);
    o += len;
    return s;
  };
  if (int32() !== CORRELATION_ID) throw new Error("unexpected correlation id");
  int32(); // throttle_time_ms
  const brokers = int32();
  for (let i = 0; i < brokers; i++) {
    int32(); // node_id
    str(); // host
    int32(); // port
    str(); // rack
  }
  const clusterId = str();
  const controllerId = int32();
  return { brokers, clusterId, controllerId };
}

const fail = (why) => {
  console.error(`kafka not ready at ${target}: ${why}`);
  process.exit(1);
};

const socket = net.connect({ host, port });
const timer = setTimeout(() => {
  socket.destroy();
  fail(`no Metadata response within ${timeoutMs} ms`);
}, timeoutMs);
let chunks = Buffer.alloc(0);
socket.on("connect", () => socket.write(request()));
socket.on("data", (d) => {
  chunks = Buffer.concat([chunks, d]);
  if (chunks.length < 4) return;
  const size = chunks.readInt32BE(0);
  if (chunks.length < 4 + size) return;
  clearTimeout(timer);
  socket.end();
  let meta;
  try {
    meta = parse(chunks.subarray(4, 4 + size));
  } catch (err) {
    fail(`malformed Metadata response (${err.message})`);
  }
  if (meta.brokers < 1) fail("broker not registered yet (Metadata lists no brokers)");
  console.log(`cluster=${meta.clusterId} brokers=${meta.brokers} controller=${meta.controllerId}`);
  process.exit(0);
});
socket.on("error", (err) => {
  clearTimeout(timer);
  fail(err.code ?? err.message);
});
