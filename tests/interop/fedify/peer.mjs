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
// Run it with Node 22 from the folder where install.sh installed the packages
// (CACHE_DIR/fedify): `run.sh CACHE_DIR` copies the peer's .mjs files there and
// starts this one.  ES modules resolve packages from the folder of the file that
// imports them and ignore NODE_PATH, so the files cannot run from the source
// tree.  See README.md.
//
// The peer is four ES modules:
//   peer.mjs        this entry point: the ActivityPub HTTP server in front of
//                   federation.fetch, and start and stop;
//   config.mjs      the settings from the environment, host resolution, logging,
//                   and the loopback-only fetch that records every request made;
//   federation.mjs  the in-memory state and Fedify's Federation, with its
//                   dispatchers and inbox listeners;
//   control.mjs     the JSON control API.
//
// The control API (every answer is 200 + JSON; a failed scenario is
// {"ok": false, "error": "..."}) is described in README.md.

import http from "node:http";

import { Tombstone } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { withContext } from "@logtape/logtape";

// Every module of the peer imports config.mjs, so it runs before them: the
// environment is checked, and dns.lookup and fetch are replaced, before
// federation.mjs and control.mjs run.
import { CONTROL_PORT, HANDLE, headersToObject, HOST, logger, ORIGIN, PORT, readBody, safeString, USER } from "./config.mjs";
import { deletedNotes, federation, rawBodies, recordInboxOutcome } from "./federation.mjs";
import { controlServer } from "./control.mjs";

// ---------------------------------------------------------------------------
// The ActivityPub server (node:http in front of federation.fetch)

let reqCounter = 0;

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
