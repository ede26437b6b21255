// Cairn's one script. Every page works without it; it only adds a copy button for handles,
// and votes and replies without a page reload.
(function () {
  "use strict";
  var d = document;

  d.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var done = function () { b.textContent = "Copied"; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(b.dataset.copy).then(done, function () {});
      }
    });
  });

  function send(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var action = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
    return fetch(action, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "X-Cairn-Fetch": "1" },
      credentials: "same-origin"
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r;
    });
  }

  function vote(form, b) {
    var box = b.closest(".votes");
    send(form, b).then(function (r) { return r.json(); }).then(function (t) {
      var bs = box.querySelectorAll("button[aria-pressed]"), up = bs[0], down = bs[1];
      up.setAttribute("aria-pressed", t.my_vote === 1);
      down.setAttribute("aria-pressed", t.my_vote === -1);
      if (up.name === "score") {
        up.value = t.my_vote === 1 ? "0" : "1";
        down.value = t.my_vote === -1 ? "0" : "-1";
      } else {
        up.name = t.my_vote === 1 ? "clear" : "up";
        down.name = t.my_vote === -1 ? "clear" : "down";
      }
      box.querySelector("output").textContent = t.score;
    }).catch(function () {
      form.dataset.plain = "1";
      form.requestSubmit(b);
    });
  }

  function reply(form) {
    var button = form.querySelector("button");
    button.disabled = true;
    send(form, null).then(function (r) { return r.text(); }).then(function (html) {
      var t = d.createElement("template");
      t.innerHTML = html.trim();
      var li = t.content.firstElementChild;
      var list;
      var parent = form.closest("li");
      if (parent) {
        list = parent.querySelector(":scope > details > ul");
        if (!list) {
          list = d.createElement("ul");
          parent.querySelector(":scope > details").appendChild(list);
        }
      } else {
        list = d.getElementById("comments");
      }
      list.appendChild(li);
      if (form.classList.contains("reply-form")) form.remove();
      else form.reset();
      button.disabled = false;
      li.setAttribute("tabindex", "-1");
      li.focus();
    }).catch(function () {
      button.disabled = false;
      form.dataset.plain = "1";
      form.submit();
    });
  }

  // "Reply" links lead to the comment's own page, which has a reply form; with the script
  // they open the same form in place.
  d.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[href$='#reply']");
    var tpl = d.getElementById("reply-template");
    if (!a || !tpl) return;
    e.preventDefault();
    var acts = a.parentNode, form = acts.nextElementSibling;
    if (!form || !form.classList.contains("reply-form")) {
      var id = a.getAttribute("href").split("#")[0].split("/")[2];
      form = tpl.content.firstElementChild.cloneNode(true);
      form.setAttribute("action", "/comment/" + id + "/reply");
      form.querySelector("textarea").id = "reply-" + id;
      form.querySelector("label").htmlFor = "reply-" + id;
      // The form sits inside the thread's vote form, and a submit event does not leave a
      // nested form, so it gets its own listener.
      form.addEventListener("submit", submit);
      acts.after(form);
    }
    form.querySelector("textarea").focus();
  });

  function submit(e) {
    var form = e.target, b = e.submitter;
    if (e.defaultPrevented || form.dataset.plain || !window.fetch) return;
    if (b && b.hasAttribute("aria-pressed")) {
      e.preventDefault();
      vote(form, b);
    } else if (form.classList.contains("comment-form")) {
      e.preventDefault();
      reply(form);
    }
  }
  d.addEventListener("submit", submit);
})();
