// Configuration of the Fedify peer, and what the other modules share: the
// settings read from the environment, the host names the peer resolves itself,
// the log of Fedify's records, and the wrapper around the global fetch that
// keeps every outgoing request on this machine and records it.
//
// The other modules of the peer all import this one, so it runs before them:
// the environment is checked, and dns.lookup and fetch are replaced, before
// federation.mjs and control.mjs run and before Fedify sends anything.

import dns from "node:dns";
import { AsyncLocalStorage } from "node:async_hooks";

import { configure, getLogger } from "@logtape/logtape";

// ---------------------------------------------------------------------------
// Configuration

export const HOST = process.env.PEER_HOST ?? "127.0.0.1";
export const PORT = Number(process.env.PEER_PORT);
export const CONTROL_PORT = Number(process.env.CONTROL_PORT);
export const USER = process.env.PEER_USER ?? "peer";
export const DOMAIN = process.env.PEER_DOMAIN || HOST;
export const SOFTWARE = (process.env.PEER_SOFTWARE || "fedify").toLowerCase();
const DEBUG = process.env.PEER_DEBUG === "1";

if (!Number.isInteger(PORT) || PORT <= 0 || !Number.isInteger(CONTROL_PORT) || CONTROL_PORT <= 0) {
  console.error("peer.mjs: PEER_PORT and CONTROL_PORT must be set to port numbers");
  process.exit(2);
}
if (!isLoopback(HOST)) {
  console.error(`peer.mjs: PEER_HOST must be a loopback address (127.0.0.0/8), got ${HOST}`);
  process.exit(2);
}

export const ORIGIN = `http://${DOMAIN}:${PORT}`;
export const HANDLE = `${USER}@${DOMAIN}:${PORT}`;
const MAX_LOG = 500;

function isLoopback(hostname) {
  return hostname === "localhost" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

// Host names resolved here, never through DNS: test domains such as
// cairn.test, like Cairn's own dev_hosts setting.
const resolveMap = new Map();
for (const entry of (process.env.PEER_RESOLVE ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
  const [name, address = "127.0.0.1"] = entry.split("=");
  if (!isLoopback(address) || address === "localhost") {
    console.error(`peer.mjs: PEER_RESOLVE entry ${entry} must map to an address in 127.0.0.0/8`);
    process.exit(2);
  }
  resolveMap.set(name.toLowerCase(), address);
}
if (!isLoopback(DOMAIN)) resolveMap.set(DOMAIN.toLowerCase(), HOST);

const realLookup = dns.lookup;
dns.lookup = function peerLookup(hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  const address = resolveMap.get(String(hostname).toLowerCase());
  if (address === undefined) return realLookup.call(this, hostname, options, callback);
  if (typeof options === "object" && options?.all) {
    return process.nextTick(callback, null, [{ address, family: 4 }]);
  }
  return process.nextTick(callback, null, address, 4);
};

function isReachable(hostname) {
  return isLoopback(hostname) || resolveMap.has(hostname.toLowerCase());
}

// ---------------------------------------------------------------------------
// Logging: Fedify logs through LogTape.  Every record goes into a ring buffer
// (GET /log), tagged with the id of the inbox request it belongs to, so a
// rejected delivery can be reported together with what Fedify said about it.

export const logRecords = [];
let logSeq = 0;

function renderMessage(record) {
  return record.message
    .map((part) => (typeof part === "string" ? part : safeString(part)))
    .join("");
}

export function safeString(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value instanceof URL) return value.href;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: {
    memory(record) {
      logRecords.push({
        seq: ++logSeq,
        at: new Date(record.timestamp).toISOString(),
        level: record.level,
        category: record.category.join("."),
        message: renderMessage(record),
        req: record.properties?.reqId ?? null,
      });
      if (logRecords.length > 2000) logRecords.splice(0, logRecords.length - 2000);
    },
    stderr(record) {
      console.error(`[${record.level}] ${record.category.join(".")}: ${renderMessage(record)}`);
    },
  },
  loggers: [
    { category: "fedify", lowestLevel: "debug", sinks: DEBUG ? ["memory", "stderr"] : ["memory"] },
    { category: "peer", lowestLevel: "debug", sinks: ["memory", "stderr"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
  ],
});
export const logger = getLogger(["peer"]);

// ---------------------------------------------------------------------------
// Outgoing HTTP: every request that Fedify (or the peer's own code) makes goes
// through the global fetch.  The wrapper
//   * records method, URL, headers, body, status and answer (GET /outgoing),
//   * rewrites https:// to http:// for GET/HEAD requests: Fedify's WebFinger
//     client always uses https for acct: handles, and nothing in the tests
//     speaks TLS.  Only loopback addresses, localhost and the PEER_RESOLVE
//     names are fetched at all; any other host is refused, so test traffic
//     never leaves the machine.

const realFetch = globalThis.fetch;
export const outgoing = [];
// Other modules read outgoingSeq to mark where a step's requests begin; an
// imported binding always shows its current value.
export let outgoingSeq = 0;

export function headersToObject(headers) {
  const out = {};
  for (const [k, v] of headers) out[k] = v;
  return out;
}

export function truncate(text, max = 20000) {
  return text.length > max ? `${text.slice(0, max)}... [${text.length - max} more characters]` : text;
}

globalThis.fetch = async function peerFetch(input, init) {
  let request = input instanceof Request && init === undefined ? input : new Request(input, init);
  const url = new URL(request.url);
  if (!isReachable(url.hostname)) {
    throw new TypeError(
      `peer: refusing to fetch ${url.href}: only 127.0.0.0/8, localhost and the PEER_RESOLVE names are reachable in the tests`,
    );
  }
  let rewrittenFrom = null;
  if (url.protocol === "https:" && (request.method === "GET" || request.method === "HEAD")) {
    rewrittenFrom = url.href;
    url.protocol = "http:";
    request = new Request(url, {
      method: request.method,
      headers: request.headers,
      redirect: request.redirect,
      signal: request.signal,
    });
  }
  const entry = {
    seq: ++outgoingSeq,
    at: new Date().toISOString(),
    method: request.method,
    url: request.url,
    rewritten_from: rewrittenFrom,
    request_headers: headersToObject(request.headers),
    request_body: null,
    status: null,
    response_headers: null,
    response_body: null,
    error: null,
  };
  outgoing.push(entry);
  if (outgoing.length > MAX_LOG) outgoing.splice(0, outgoing.length - MAX_LOG);
  if (request.method !== "GET" && request.method !== "HEAD") {
    try {
      entry.request_body = truncate(await request.clone().text());
    } catch (e) {
      entry.request_body = `<unreadable: ${e}>`;
    }
  }
  try {
    const response = await realFetch(request);
    entry.status = response.status;
    entry.response_headers = headersToObject(response.headers);
    try {
      entry.response_body = truncate(await response.clone().text());
    } catch (e) {
      entry.response_body = `<unreadable: ${e}>`;
    }
    return response;
  } catch (e) {
    entry.error = safeString(e);
    throw e;
  }
};

// The POSTs made since outgoing seq `since` (to `inbox`, if given), as a short
// account of each attempt: Fedify retries a refused draft-cavage POST with
// RFC 9421 (its "double knock"), so the last error alone can hide the first.
export function postAttempts(since, inbox = null) {
  return outgoing
    .filter((o) => o.seq > since && o.method === "POST" && (inbox == null || o.url === inbox))
    .map((o) => ({
      url: o.url,
      signature_scheme: o.request_headers["signature-input"] ? "rfc9421" : o.request_headers.signature ? "draft-cavage" : "none",
      status: o.status,
      response_body: o.response_body,
      error: o.error,
    }));
}

export function describeGets(since) {
  return outgoing
    .filter((o) => o.seq > since && o.method === "GET")
    .map((o) => `GET ${o.url} -> ${o.status ?? o.error} ${o.response_headers?.["content-type"] ?? ""} ${(o.response_body ?? "").slice(0, 300)}`)
    .join(" | ");
}

export function describeAttempts(attempts) {
  return attempts
    .map((a) => `${a.signature_scheme} POST ${a.url} -> ${a.status ?? a.error} ${(a.response_body ?? "").slice(0, 500)}`)
    .join(" | ");
}

// The whole body of an incoming node:http request, for both servers.
export async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}
