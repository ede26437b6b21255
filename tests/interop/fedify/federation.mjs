// The Fedify side of the peer: its state (all in memory), the Federation
// object with the actor, collection, object and NodeInfo dispatchers, and the
// inbox listeners that record every delivery for GET /inbox.  A Follow is
// accepted at once, and an Announce is checked by dereferencing what it
// announces.

import { randomUUID } from "node:crypto";

import { createFederation, generateCryptoKeyPair, MemoryKvStore, signRequest } from "@fedify/fedify";
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
  Note,
  Person,
  Reject,
  Undo,
  Update,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";

import { logger, logRecords, ORIGIN, outgoingSeq, postAttempts, safeString, SOFTWARE, truncate, USER } from "./config.mjs";

// ---------------------------------------------------------------------------
// State (all in memory)

const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
export const followers = new Map(); // actor id -> { id, inbox, shared_inbox, follow_id, at }
export const following = new Map(); // actor id -> { follow (Follow), json, at }
export const notes = new Map(); // local id -> { note (Note), create (Create) }
export const deletedNotes = new Map(); // local id -> deletion time (ISO); the note answers 410
export const activities = new Map(); // "<kind>/<uuid>" -> Activity this peer sent (Like, Dislike, Update, Delete, Undo)
export const sentActivities = []; // Activity objects sent (the outbox)
export const inboxItems = [];
let inboxSeq = 0;
export const pendingWork = new Set(); // promises of Announce dereferencing still running

// Per inbox request (keyed by reqId): the listener's record and any
// unverified-activity reason Fedify gave.
const listenerItems = new Map();
const unverifiedReasons = new Map();

// The body and headers of each inbox POST as it came over the wire, keyed by
// reqId, while the request is being handled.  peer.mjs fills it in and empties
// it; the listeners and recordInboxOutcome read it.
export const rawBodies = new Map(); // reqId -> { json, headers }

// ---------------------------------------------------------------------------
// Federation

export const federation = createFederation({
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

export async function authLoader(ctx) {
  return await ctx.getDocumentLoader({ identifier: USER });
}

export function contextForControl() {
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
export async function signedGet(url) {
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

// Called by peer.mjs once Fedify has answered an inbox POST: completes the
// listener's item with the status, or, when no listener ran, records the
// delivery with Fedify's answer and its log lines for that request.
export function recordInboxOutcome(reqId, response, responseText) {
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
