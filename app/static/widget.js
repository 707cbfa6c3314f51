/* Hotel concierge chat widget, no dependencies. One tag puts it on any page:
 *   <script src="https://HOST/widget.js" data-property="PROPERTY_ID" defer></script>
 * Optional: data-lang (en|de|fr|es|it|zh|ja; else the page's or browser's language), data-phone,
 * data-contact-url, data-title, data-api, data-poll-ms (how often a request's status is
 * checked, default 10000); and
 * window.ConciergeWidgetStrings = {...} to override any text. It never throws into the page. */
(function () {
"use strict";
var TAG = "[concierge widget]";
function warn(e) { try { console.error(TAG, e); } catch (_) { /* no console */ } }
function safe(fn) {
  return function () { try { return fn.apply(this, arguments); } catch (e) { warn(e); } };
}

var STRINGS = {
  en: {
    title: "Concierge", open: "Chat with our concierge", close: "Close chat",
    label: "Your question", placeholder: "Ask about your stay…", send: "Send",
    greeting: "Hello! Ask me anything about the hotel: check-in, breakfast, parking, the spa…",
    thinking: "Looking that up…", sources: "Sources", you: "You", bot: "Concierge",
    escalate: "I'm not sure about that one, and I'd rather not guess. Our front desk will be happy to help.",
    unavailable: "Sorry, I can't answer right now. Please try again in a moment or contact our front desk.",
    invalid: "Sorry, I couldn't use that question. Could you rephrase it?",
    contact: "Contact the front desk", call: "Call the front desk",
    room: "Room number", roomSend: "Send room number", status: "Status",
    statuses: { open: "received", acknowledged: "on its way", done: "done", cancelled: "cancelled" },
    helpful: "Helpful", unhelpful: "Not helpful", thanks: "Thanks for your feedback"
  },
  fr: {
    title: "Concierge", open: "Discuter avec notre concierge", close: "Fermer la discussion",
    label: "Votre question", placeholder: "Une question sur votre séjour ?", send: "Envoyer",
    greeting: "Bonjour ! Posez-moi vos questions sur l'hôtel : arrivée, petit-déjeuner, parking, spa…",
    thinking: "Je cherche…", sources: "Sources", you: "Vous", bot: "Concierge",
    escalate: "Je ne suis pas certain de la réponse et je préfère ne pas deviner. La réception se fera un plaisir de vous aider.",
    unavailable: "Désolé, je ne peux pas répondre pour le moment. Réessayez dans un instant ou contactez la réception.",
    invalid: "Désolé, je n'ai pas pu traiter cette question. Pouvez-vous la reformuler ?",
    contact: "Contacter la réception", call: "Appeler la réception",
    room: "Numéro de chambre", roomSend: "Envoyer le numéro", status: "Statut",
    statuses: { open: "reçue", acknowledged: "en cours", done: "terminée", cancelled: "annulée" },
    helpful: "Utile", unhelpful: "Pas utile", thanks: "Merci pour votre avis"
  },
  de: {
    title: "Concierge", open: "Mit unserem Concierge chatten", close: "Chat schließen",
    label: "Ihre Frage", placeholder: "Fragen zu Ihrem Aufenthalt…", send: "Senden",
    greeting: "Hallo! Fragen Sie mich alles zum Hotel: Check-in, Frühstück, Parken, Spa…",
    thinking: "Ich sehe nach…", sources: "Quellen", you: "Sie", bot: "Concierge",
    escalate: "Da bin ich mir nicht sicher, und raten möchte ich nicht. Die Rezeption hilft Ihnen gern weiter.",
    unavailable: "Leider kann ich gerade nicht antworten. Bitte versuchen Sie es gleich noch einmal oder wenden Sie sich an die Rezeption.",
    invalid: "Mit dieser Frage konnte ich leider nichts anfangen. Können Sie sie anders formulieren?",
    contact: "Rezeption kontaktieren", call: "Rezeption anrufen"
  },
  es: {
    title: "Conserje", open: "Chatear con nuestro conserje", close: "Cerrar el chat",
    label: "Su pregunta", placeholder: "Pregunte sobre su estancia…", send: "Enviar",
    greeting: "¡Hola! Pregúnteme lo que quiera sobre el hotel: check-in, desayuno, aparcamiento, spa…",
    thinking: "Lo estoy buscando…", sources: "Fuentes", you: "Usted", bot: "Conserje",
    escalate: "No estoy seguro de la respuesta y prefiero no adivinar. En recepción le ayudarán con mucho gusto.",
    unavailable: "Lo siento, ahora mismo no puedo responder. Inténtelo de nuevo en un momento o contacte con recepción.",
    invalid: "Lo siento, no he podido usar esa pregunta. ¿Puede formularla de otra manera?",
    contact: "Contactar con recepción", call: "Llamar a recepción"
  },
  it: {
    title: "Concierge", open: "Chatta con il nostro concierge", close: "Chiudi la chat",
    label: "La sua domanda", placeholder: "Chieda pure del suo soggiorno…", send: "Invia",
    greeting: "Salve! Mi chieda qualsiasi cosa sull'hotel: check-in, colazione, parcheggio, spa…",
    thinking: "Sto cercando…", sources: "Fonti", you: "Lei", bot: "Concierge",
    escalate: "Non ne sono sicuro e preferisco non tirare a indovinare. La reception sarà lieta di aiutarla.",
    unavailable: "Mi dispiace, al momento non posso rispondere. Riprovi tra poco o contatti la reception.",
    invalid: "Mi dispiace, non ho potuto usare questa domanda. Può riformularla?",
    contact: "Contatta la reception", call: "Chiama la reception"
  },
  zh: {
    title: "礼宾服务", open: "与礼宾员聊天", close: "关闭聊天",
    label: "您的问题", placeholder: "关于您的住宿，有什么可以帮您？", send: "发送",
    greeting: "您好！关于酒店的任何问题都可以问我：入住、早餐、停车、水疗……",
    thinking: "正在查找……", sources: "来源", you: "您", bot: "礼宾员",
    escalate: "这个问题我不太确定，不想乱猜。前台工作人员很乐意为您提供帮助。",
    unavailable: "抱歉，我现在无法回答。请稍后再试，或联系前台。",
    invalid: "抱歉，我无法处理这个问题。能换个说法吗？",
    contact: "联系前台", call: "致电前台"
  },
  ja: {
    title: "コンシェルジュ", open: "コンシェルジュとチャット", close: "チャットを閉じる",
    label: "ご質問", placeholder: "ご滞在についてお気軽にどうぞ…", send: "送信",
    greeting: "こんにちは！チェックイン、朝食、駐車場、スパなど、ホテルについて何でもお尋ねください。",
    thinking: "お調べしています…", sources: "出典", you: "あなた", bot: "コンシェルジュ",
    escalate: "確かなことが分からないため、推測でお答えするのは控えます。フロントがご案内いたします。",
    unavailable: "申し訳ありません。ただいまお答えできません。少し時間をおいて再度お試しいただくか、フロントにお問い合わせください。",
    invalid: "申し訳ありません。このご質問は処理できませんでした。言い換えていただけますか？",
    contact: "フロントに連絡", call: "フロントに電話"
  }
};
var TIMEOUT_MS = 30000;
var SNIPPET = 160;

var CSS = [
  ":host{all:initial}",
  "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
  ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border:0;border-radius:50%;background:#1f3a5f;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.3);display:grid;place-items:center}",
  ".launch svg{width:28px;height:28px;fill:currentColor}",
  "button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #f5b301;outline-offset:2px}",
  ".panel{position:fixed;right:20px;bottom:92px;z-index:2147483001;width:370px;max-width:calc(100vw - 40px);height:540px;max-height:calc(100vh - 120px);background:#fff;color:#1d1d1f;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden;font-size:15px;line-height:1.45}",
  ".panel[hidden]{display:none}",
  "header{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;background:#1f3a5f;color:#fff}",
  "h2{margin:0;font-size:16px;font-weight:600}",
  ".x{background:none;border:0;color:#fff;font-size:24px;line-height:1;cursor:pointer;padding:2px 8px;border-radius:6px}",
  ".log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#f6f7f9}",
  ".msg{max-width:88%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}",
  ".user{align-self:flex-end;background:#1f3a5f;color:#fff;border-bottom-right-radius:4px}",
  ".bot{align-self:flex-start;background:#fff;border:1px solid #e1e4e8;border-bottom-left-radius:4px}",
  ".pending .text{color:#6a737d;font-style:italic}",
  ".src{margin:8px 0 0;padding:8px 0 0;border-top:1px solid #e1e4e8;list-style:none;font-size:13px;white-space:normal}",
  ".src li{margin:0 0 6px}.src b{display:block;color:#1f3a5f}.src span{color:#57606a}",
  ".src-h{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#6a737d;margin-top:8px}",
  ".act{display:inline-block;margin-top:8px;padding:7px 12px;border-radius:8px;background:#f5b301;color:#1d1d1f;text-decoration:none;font-weight:600}",
  "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e1e4e8;background:#fff}",
  "input{flex:1;min-width:0;font-size:16px;padding:9px 11px;border:1px solid #c9ced6;border-radius:8px}",
  ".send{border:0;border-radius:8px;background:#1f3a5f;color:#fff;padding:0 14px;font-size:15px;cursor:pointer}",
  ".send:disabled{opacity:.55;cursor:default}",
  ".task{margin-top:8px;font-size:13px;color:#57606a}.task b{color:#1f3a5f}",
  ".roomf{display:flex;gap:6px;margin-top:8px;padding:0;border:0;background:none}.roomf input{font-size:14px;padding:6px 8px}",
  ".rate{display:flex;gap:6px;margin-top:6px}.rate button{border:1px solid #c9ced6;background:#fff;border-radius:6px;cursor:pointer;padding:2px 8px;font-size:14px}",
  ".rate button[aria-pressed=true]{background:#1f3a5f;color:#fff}",
  ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
  "@media (max-width:480px){.panel{inset:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.launch{right:14px;bottom:max(14px,env(safe-area-inset-bottom))}}"
].join("");

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
  });
  (children || []).forEach(function (c) { if (c) node.appendChild(c); });
  return node;
}

function uuid() {
  var c = window.crypto;
  if (c && c.randomUUID) return c.randomUUID();
  if (c && c.getRandomValues) {
    return Array.prototype.map.call(c.getRandomValues(new Uint8Array(16)), function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

/* Incremental text/event-stream parser: feed() chunks, onEvent(name, data) per event. */
function sseParser(onEvent) {
  var buf = "", name = "", data = [];
  function line(l) {
    if (l === "") {
      if (data.length) onEvent(name || "message", data.join("\n"));
      name = ""; data = [];
      return;
    }
    if (l.charAt(0) === ":") return;
    var i = l.indexOf(":"), field = i < 0 ? l : l.slice(0, i), v = i < 0 ? "" : l.slice(i + 1);
    if (v.charAt(0) === " ") v = v.slice(1);
    if (field === "event") name = v; else if (field === "data") data.push(v);
  }
  return function feed(chunk, final) {
    buf += chunk;
    var cut = buf.length;
    if (!final && buf.charAt(cut - 1) === "\r") cut--; // a CRLF may be split across chunks
    var lines = buf.slice(0, cut).split(/\r\n|\n|\r/);
    buf = lines.pop() + buf.slice(cut);
    lines.forEach(line);
    if (final) { if (buf) line(buf); line(""); buf = ""; }
  };
}

var CONTACT_SCHEMES = ["http:", "https:", "tel:", "mailto:"];

// The contact link only for web, phone and mail addresses: a javascript: or data: URL from the
// host page's markup is never made clickable.
function contactUrl(raw) {
  if (!raw) return null;
  var url;
  try { url = new URL(raw, location.href); } catch (_) { url = null; }
  if (!url || CONTACT_SCHEMES.indexOf(url.protocol) < 0) {
    warn("data-contact-url must be an http(s):, tel: or mailto: address; it is ignored");
    return null;
  }
  return url.href;
}

function failure(kind, detail) { var e = new Error(detail || kind); e.kind = kind; return e; }

function kindOf(status) {
  if (status === 422 || status === 413 || status === 400) return "invalid";
  return "unavailable"; // 404 (misconfigured property), 429, 5xx, network
}

function start(script) {
  var d = script.dataset;
  var property = d.property;
  if (!property) { warn("data-property is missing on the widget's script tag"); return; }
  // A Map, not a plain object: a property id such as "constructor" or "__proto__" must not
  // find something inherited and look "already loaded".
  var registry = window.__conciergeWidgets;
  if (!(registry instanceof Map)) registry = window.__conciergeWidgets = new Map();
  if (registry.has(property)) return; // the tag was included twice
  registry.set(property, true);
  var api = (d.api || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  // The page's language tag (e.g. "de-AT") goes with each question: the server answers in the
  // question's own language when it can tell, and in this one otherwise.
  var pageLang = String(d.lang || document.documentElement.lang || navigator.language || "en").slice(0, 35);
  var lang = pageLang.slice(0, 2).toLowerCase();
  var t = Object.assign({}, STRINGS.en, STRINGS[lang] || {}, window.ConciergeWidgetStrings || {});
  // The widget's own words for an answer in another language than the page's.
  function wordsFor(code) {
    return code && code !== lang && STRINGS[code] ? Object.assign({}, t, STRINGS[code]) : t;
  }
  if (d.title) t.title = d.title;
  var streaming = true;
  var pollMs = Math.max(1000, parseInt(d.pollMs || "10000", 10) || 10000);
  var memoSession = null;
  var busy = false;

  function remembered(name, value) {
    var key = "concierge-" + name + ":" + property;
    try {
      if (value !== undefined) sessionStorage.setItem(key, value);
      return sessionStorage.getItem(key);
    } catch (e) { return value || null; }
  }

  function sessionId() {
    var key = "concierge-session:" + property;
    try {
      var v = sessionStorage.getItem(key);
      if (!v) { v = uuid(); sessionStorage.setItem(key, v); }
      return v;
    } catch (e) { return memoSession || (memoSession = uuid()); } // storage blocked
  }

  var host = el("div", { "data-concierge-widget": property });
  var root = host.attachShadow({ mode: "open" });
  var uid = "concierge-" + property;
  var launch = el("button", {
    class: "launch", type: "button", "aria-expanded": "false", "aria-controls": uid, "aria-label": t.open
  });
  launch.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  var closeBtn = el("button", { class: "x", type: "button", "aria-label": t.close, text: "×" });
  var log = el("div", { class: "log", "aria-label": t.title });
  var live = el("div", { class: "sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  var input = el("input", {
    type: "text", id: uid + "-q", maxlength: "1000", autocomplete: "off", placeholder: t.placeholder, enterkeyhint: "send"
  });
  var send = el("button", { class: "send", type: "submit", text: t.send });
  var form = el("form", {}, [el("label", { class: "sr", for: uid + "-q", text: t.label }), input, send]);
  var panel = el("div", {
    class: "panel", id: uid, role: "dialog", "aria-modal": "false", "aria-labelledby": uid + "-t", hidden: ""
  }, [el("header", {}, [el("h2", { id: uid + "-t", text: t.title }), closeBtn]), log, live, form]);
  root.appendChild(el("style", { text: CSS }));
  root.appendChild(panel);
  root.appendChild(launch);
  document.body.appendChild(host);
  addMessage("bot", t.greeting);

  function isOpen() { return !panel.hidden; }
  function open() {
    panel.hidden = false;
    launch.setAttribute("aria-expanded", "true");
    input.focus();
  }
  function close() {
    panel.hidden = true;
    launch.setAttribute("aria-expanded", "false");
    launch.focus();
  }
  function announce(text) {
    live.textContent = "";
    setTimeout(function () { live.textContent = text; }, 50); // re-announced even if unchanged
  }

  function addMessage(role, text) {
    var body = el("div", { class: "text", text: text });
    var msg = el("div", { class: "msg " + role }, [el("span", { class: "sr", text: (role === "user" ? t.you : t.bot) + ": " }), body]);
    log.appendChild(msg);
    log.scrollTop = log.scrollHeight;
    return { msg: msg, body: body };
  }

  function showSources(view, sources, citations, words) {
    words = words || t;
    var cited = (citations && citations.length)
      ? sources.filter(function (s) { return citations.indexOf(s.n) >= 0; })
      : sources.slice(0, 3);
    if (view.sources) view.msg.removeChild(view.sources);
    view.sources = null;
    if (!cited.length) return;
    var list = el("ul", { class: "src", "aria-label": words.sources });
    cited.forEach(function (s) {
      var text = String(s.text || "").replace(/\s+/g, " ").trim();
      if (text.length > SNIPPET) text = text.slice(0, SNIPPET).replace(/\s\S*$/, "") + "…";
      list.appendChild(el("li", {}, [el("b", { text: "[" + s.n + "] " + (s.title || s.document_id || "") }), el("span", { text: text })]));
    });
    view.sources = el("div", {}, [el("div", { class: "src-h", text: words.sources }), list]);
    view.msg.appendChild(view.sources);
  }

  function contactAction() {
    if (d.phone) return el("a", { class: "act", href: "tel:" + d.phone.replace(/[^+\d]/g, ""), text: t.call + " (" + d.phone + ")" });
    var url = contactUrl(d.contactUrl);
    if (url) return el("a", { class: "act", href: url, target: "_blank", rel: "noopener", text: t.contact });
    return null;
  }

  function showHandoff(view, message) {
    view.msg.classList.remove("pending");
    view.body.textContent = message;
    if (view.sources) { view.msg.removeChild(view.sources); view.sources = null; }
    var action = contactAction();
    if (action) view.msg.appendChild(el("div", {}, [action]));
    announce(message);
  }

  function showTask(view, task, question) {
    var label = el("b", { text: t.statuses[task.status] || task.status });
    view.msg.appendChild(el("div", { class: "task", "data-ref": task.ref }, [el("span", { text: t.status + " (" + task.ref + "): " }), label]));
    if (task.needs_room) askRoom(view, question);
    var timer = setInterval(safe(function () {
      fetch(api + "/tasks/" + encodeURIComponent(task.ref) + "?session_id=" + encodeURIComponent(sessionId()), { mode: "cors", credentials: "omit" })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (data) {
          if (!data || !data.status) return;
          var text = t.statuses[data.status] || data.status;
          if (label.textContent !== text) { label.textContent = text; announce(t.status + ": " + text); }
          if (data.status === "done" || data.status === "cancelled") clearInterval(timer);
        }).catch(warn);
    }), pollMs);
  }

  function askRoom(view, question) {
    var id = uid + "-room-" + log.children.length;
    var field = el("input", { type: "text", id: id, inputmode: "numeric", maxlength: "16", autocomplete: "off" });
    var form = el("form", { class: "roomf" }, [el("label", { class: "sr", for: id, text: t.room }), field,
      el("button", { class: "send", type: "submit", text: t.roomSend })]);
    form.addEventListener("submit", safe(function (ev) {
      ev.preventDefault();
      var room = field.value.trim().replace(/[^A-Za-z0-9-]/g, "").slice(0, 16);
      if (!room || busy) return;
      remembered("room", room);
      view.msg.removeChild(form);
      ask(question).catch(warn);
    }));
    view.msg.appendChild(form);
    field.focus();
  }

  function showRating(view, result, question) {
    if (!result.request_id) return;
    var up = el("button", { type: "button", "aria-pressed": "false", "aria-label": t.helpful, text: "\uD83D\uDC4D" });
    var down = el("button", { type: "button", "aria-pressed": "false", "aria-label": t.unhelpful, text: "\uD83D\uDC4E" });
    function rate(rating, button, other) {
      return safe(function () {
        button.setAttribute("aria-pressed", "true");
        other.setAttribute("aria-pressed", "false");
        fetch(api + "/feedback", {
          method: "POST", mode: "cors", credentials: "omit", headers: { "content-type": "application/json" },
          body: JSON.stringify({ property_id: property, request_id: result.request_id, rating: rating,
            question: question.slice(0, 1000), answer: String(result.answer || "").slice(0, 4000) })
        }).then(function () { announce(t.thanks); }).catch(warn);
      });
    }
    up.addEventListener("click", rate("up", up, down));
    down.addEventListener("click", rate("down", down, up));
    view.msg.appendChild(el("div", { class: "rate" }, [up, down]));
  }

  function post(body, signal) {
    return fetch(api + "/ask", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "content-type": "application/json", accept: body.stream ? "text/event-stream, application/json" : "application/json" },
      body: JSON.stringify(body),
      signal: signal
    });
  }

  function readJson(res) { return res.json().catch(function () { return {}; }); }
  function errorOf(data) { return (data && data.error) || {}; }

  async function readStream(res, view) {
    var result = null, text = "", sources = [];
    var feed = sseParser(function (name, raw) {
      var data = JSON.parse(raw);
      if (name === "sources") { sources = data.sources || []; }
      else if (name === "delta") {
        text += data.text || "";
        view.msg.classList.remove("pending");
        view.body.textContent = text;
        log.scrollTop = log.scrollHeight;
      } else if (name === "done") { result = data; }
      else if (name === "error") {
        var err = errorOf(data);
        throw failure(err.code === "invalid_request" ? "invalid" : "unavailable", err.code + ": " + err.message);
      }
    });
    var reader = res.body.getReader(), decoder = new TextDecoder();
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) { feed(decoder.decode(), true); break; }
      feed(decoder.decode(chunk.value, { stream: true }), false);
      if (result) { reader.cancel().catch(function () {}); break; }
    }
    if (result) return result;
    if (text) return { answer: text, sources: sources, citations: [], escalate: false };
    throw failure("unavailable", "the answer stream ended early");
  }

  async function request(question, view) {
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = ctrl && setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    try {
      var body = { property_id: property, question: question, session_id: sessionId(), language: pageLang };
      var room = remembered("room");
      if (room) body.room = room;
      if (streaming) body.stream = true;
      var res = await post(body, ctrl && ctrl.signal);
      if (res.status === 422 && body.stream) {
        var first = errorOf(await readJson(res));
        if (!/stream/i.test(first.message || "")) throw failure("invalid", first.message);
        streaming = false; // this server answers in one JSON body; ask it that way from now on
        delete body.stream;
        res = await post(body, ctrl && ctrl.signal);
      }
      var type = res.headers.get("content-type") || "";
      if (res.ok && type.indexOf("text/event-stream") >= 0 && res.body) return await readStream(res, view);
      var data = await readJson(res);
      if (!res.ok) throw failure(kindOf(res.status), res.status + " " + (errorOf(data).message || res.statusText));
      return data;
    } catch (e) {
      if (!(e && e.kind)) e = failure("unavailable", String(e && e.message || e)); // network error or timeout
      throw e;
    } finally { if (timer) clearTimeout(timer); }
  }

  async function ask(question) {
    busy = true;
    send.disabled = true;
    log.setAttribute("aria-busy", "true");
    addMessage("user", question);
    var view = addMessage("bot", t.thinking);
    view.msg.classList.add("pending");
    try {
      var result = await request(question, view);
      var words = wordsFor(result.language);
      if (result.escalate && result.kind !== "safety") {
        showHandoff(view, words.escalate);
        return;
      }
      view.msg.classList.remove("pending");
      view.body.textContent = result.answer || "";
      showSources(view, result.sources || [], result.citations || [], words);
      if (result.kind === "safety") { var call = contactAction(); if (call) view.msg.appendChild(el("div", {}, [call])); }
      if (result.task) showTask(view, result.task, question);
      else if (result.kind === "information" || !result.kind) showRating(view, result, question);
      announce(result.answer || "");
    } catch (e) {
      warn(e);
      if (e.kind === "invalid") {
        view.msg.classList.remove("pending");
        view.body.textContent = t.invalid;
        announce(t.invalid);
      } else showHandoff(view, t.unavailable);
    } finally {
      busy = false;
      send.disabled = false;
      log.removeAttribute("aria-busy");
      log.scrollTop = log.scrollHeight;
    }
  }

  launch.addEventListener("click", safe(function () { if (isOpen()) close(); else open(); }));
  closeBtn.addEventListener("click", safe(close));
  panel.addEventListener("keydown", safe(function (ev) {
    if (ev.key === "Escape") { ev.stopPropagation(); close(); }
  }));
  form.addEventListener("submit", safe(function (ev) {
    ev.preventDefault();
    var q = input.value.trim();
    if (!q || busy) return;
    input.value = "";
    ask(q).catch(warn);
  }));
}

try {
  var script = document.currentScript ||
    document.querySelector('script[data-property][src*="widget.js"]');
  if (!script) return;
  var go = safe(function () { start(script); });
  if (document.body) go(); else document.addEventListener("DOMContentLoaded", go);
} catch (e) { warn(e); }
})();
