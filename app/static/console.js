/* Staff console: live tasks (acknowledge, done), knowledge gaps and feedback. No build step.
 * The token stays in this tab's sessionStorage and is sent as a bearer token; the live feed is
 * read with fetch (EventSource cannot send headers) and reconnects after a drop. */
(function () {
"use strict";
var $ = function (id) { return document.getElementById(id); };
var STATUS = { open: "Open", acknowledged: "Acknowledged", done: "Done", cancelled: "Cancelled" };
var state = { token: null, property: null, tasks: {}, stream: null, retry: 500 };

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
  });
  (children || []).forEach(function (c) { if (c) node.appendChild(c); });
  return node;
}
function announce(text) { $("announce").textContent = ""; setTimeout(function () { $("announce").textContent = text; }, 30); }

function api(path, options) {
  options = options || {};
  options.headers = Object.assign({ authorization: "Bearer " + state.token }, options.headers || {});
  return fetch(path, options).then(function (res) {
    if (res.status === 401 || res.status === 403 || res.status === 503) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        var err = new Error((body.error && body.error.message) || res.statusText); err.status = res.status; throw err;
      });
    }
    if (!res.ok) throw new Error(res.status + " " + res.statusText);
    return res.json();
  });
}
function scope(extra) {
  var q = new URLSearchParams(extra || {});
  if (state.property) q.set("property_id", state.property);
  var s = q.toString();
  return s ? "?" + s : "";
}

function renderTask(task) {
  var id = "task-" + task.id;
  var old = document.getElementById(id);
  var active = task.status === "open" || task.status === "acknowledged";
  var showAll = $("status-filter").value === "all";
  if (!active && !showAll) { if (old) old.remove(); return; }
  var actions = el("div", { class: "actions" });
  if (task.status === "open") actions.appendChild(button("Acknowledge", task, "acknowledged"));
  if (active) actions.appendChild(button("Done", task, "done"));
  var room = task.room ? " · room " + task.room : "";
  var item = el("li", { id: id, class: "task " + task.priority, "data-status": task.status, "data-ref": task.ref }, [
    el("div", {}, [el("strong", { text: task.category.replace("_", " ") + " · " + task.priority }),
      el("span", { class: "status", text: " — " + STATUS[task.status] })]),
    el("div", { class: "words", text: "“" + task.guest_text + "”" }),
    el("div", { class: "meta", text: task.ref + " · " + task.property_id + room + " · " +
      new Date(task.created_at).toLocaleTimeString() + (task.updated_by ? " · by " + task.updated_by : "") }),
    actions,
  ]);
  var list = $("task-list");
  if (old) list.replaceChild(item, old); else list.insertBefore(item, list.firstChild);
}
function button(label, task, status) {
  var b = el("button", { type: "button", text: label, "aria-label": label + " " + task.ref });
  b.addEventListener("click", function () {
    b.disabled = true;
    api("/admin/tasks/" + task.id, {
      method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ status: status }),
    }).then(function (updated) {
      state.tasks[updated.id] = updated; renderTask(updated); announce(updated.ref + ": " + STATUS[updated.status]);
    }).catch(function (e) { b.disabled = false; announce("Could not update: " + e.message); });
  });
  return b;
}

function loadTasks() {
  var params = $("status-filter").value === "all" ? {} : { status: "open" };
  var requests = [api("/admin/tasks" + scope(params))];
  if (params.status) requests.push(api("/admin/tasks" + scope({ status: "acknowledged" })));
  return Promise.all(requests).then(function (pages) {
    $("task-list").textContent = "";
    var all = [].concat.apply([], pages.map(function (p) { return p.tasks; }));
    all.sort(function (a, b) { return a.id - b.id; }).forEach(function (task) { state.tasks[task.id] = task; renderTask(task); });
  });
}

function parseEvents(onEvent) {
  var buf = "";
  return function (chunk) {
    buf += chunk;
    var parts = buf.split(/\r?\n\r?\n/);
    buf = parts.pop();
    parts.forEach(function (block) {
      var name = "message", data = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).trim());
      });
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    });
  };
}

function follow() {
  var ctrl = new AbortController();
  state.stream = ctrl;
  fetch("/admin/tasks/stream" + scope(), { headers: { authorization: "Bearer " + state.token }, signal: ctrl.signal })
    .then(function (res) {
      if (!res.ok || !res.body) throw new Error("stream " + res.status);
      var reader = res.body.getReader(), decoder = new TextDecoder();
      var feed = parseEvents(function (name, data) {
        if (name === "ready") { $("live").textContent = "live"; state.retry = 500; loadTasks().catch(showError); }
        if (name === "task") {
          var task = data.task; state.tasks[task.id] = task; renderTask(task);
          if (data.event === "created") announce("New " + task.priority + " task: " + task.category + " " + task.ref);
        }
      });
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) throw new Error("stream ended");
          feed(decoder.decode(r.value, { stream: true })); return pump();
        });
      }
      return pump();
    })
    .catch(function (e) {
      if (ctrl.signal.aborted) return;
      $("live").textContent = "reconnecting…";
      setTimeout(function () { if (state.stream === ctrl) follow(); }, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    });
}

function loadGaps() {
  return api("/admin/gaps" + scope({ days: "7" })).then(function (body) {
    var list = $("gap-list"); list.textContent = "";
    if (!body.groups.length) list.appendChild(el("li", { class: "gap", text: "Nothing handed over this week." }));
    body.groups.forEach(function (g) {
      list.appendChild(el("li", { class: "gap" }, [el("strong", { text: g.count + " × " }),
        el("span", { text: g.question }), el("div", { class: "meta", text: g.property_id + " · last " + new Date(g.last_seen).toLocaleString() })]));
    });
  });
}
function loadFeedback() {
  return api("/admin/feedback" + scope({ days: "7" })).then(function (body) {
    var list = $("feedback-list"); list.textContent = "";
    if (!body.feedback.length) list.appendChild(el("li", { class: "fb", text: "No ratings this week." }));
    body.feedback.forEach(function (f) {
      list.appendChild(el("li", { class: "fb" }, [el("strong", { text: f.kind === "thumbs_up" ? "Helpful: " : "Not helpful: " }),
        el("span", { text: f.question }), el("div", { class: "meta", text: (f.answer || "").slice(0, 200) })]));
    });
  });
}

function showTab(name) {
  ["tasks", "gaps", "feedback"].forEach(function (tab) {
    $(tab).hidden = tab !== name;
    document.querySelector('[data-tab="' + tab + '"]').setAttribute("aria-pressed", String(tab === name));
  });
  if (name === "gaps") loadGaps().catch(showError);
  if (name === "feedback") loadFeedback().catch(showError);
}
function showError(e) {
  if (e && (e.status === 401 || e.status === 403)) { signOut(); $("login-error").textContent = e.message; return; }
  announce("Error: " + (e && e.message));
}

function signIn(token, property) {
  state.token = token; state.property = property || null;
  return loadTasks().then(function () {
    try { sessionStorage.setItem("console-token", token); sessionStorage.setItem("console-property", property || ""); } catch (e) { /* blocked */ }
    $("login").hidden = true; $("desk").hidden = false; $("login-error").textContent = "";
    $("who").textContent = property ? "Property " + property : "All your properties";
    follow();
    document.querySelector('[data-tab="tasks"]').focus();
  });
}
function signOut() {
  if (state.stream) state.stream.abort();
  state.stream = null; state.token = null;
  try { sessionStorage.removeItem("console-token"); } catch (e) { /* blocked */ }
  $("desk").hidden = true; $("login").hidden = false; $("token").focus();
}

$("login").addEventListener("submit", function (ev) {
  ev.preventDefault();
  signIn($("token").value.trim(), $("property").value.trim()).catch(function (e) {
    state.token = null; $("login-error").textContent = e.message;
  });
});
$("logout").addEventListener("click", signOut);
$("status-filter").addEventListener("change", function () { loadTasks().catch(showError); });
Array.prototype.forEach.call(document.querySelectorAll("[data-tab]"), function (b) {
  b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
});
var saved = null;
try { saved = sessionStorage.getItem("console-token"); } catch (e) { /* blocked */ }
if (saved) signIn(saved, sessionStorage.getItem("console-property")).catch(function () { signOut(); });
else $("token").focus();
})();
