// The staff console (bot/staff/console.py serves it and its JSON API under /staff/).
// Everything from the server is put on the page as text (textContent), never as markup:
// patients' messages are untrusted.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { options: null, tryConversation: null, page: 1, conversation: null, nextOffset: 0, reviewer: false };

  // --- small helpers ---------------------------------------------------------------------------
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function say(message, isError) {
    const status = $("status");
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
  }

  async function api(method, path, body) {
    const response = await fetch("/staff/api/" + path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      window.location.reload(); // the session ended: the server shows the login page
      throw new Error("Please log in again.");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
    return data;
  }

  function percent(confidence) {
    return typeof confidence === "number" ? `${Math.round(confidence * 100)}%` : "–";
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "–";
  }

  // --- per-turn details, shared by "Try it" and the conversation view --------------------------
  function details(patient, actions, slots, extraSlots) {
    const list = el("dl", { class: "details" });
    const row = (name, value) => list.append(el("dt", { text: name }), el("dd", {}, value));
    if (patient) {
      row("Language", patient.language || (extraSlots && extraSlots.language) || "–");
      row("Intent", patient.intent ? `${patient.intent} (${percent(patient.confidence)})` : "–");
      const others = (patient.ranking || []).filter((r) => r.name !== patient.intent).slice(0, 3);
      row("Runner-up intents", others.length ? others.map((r) => `${r.name} (${percent(r.confidence)})`).join(", ") : "–");
      if (patient.safety) {
        const s = patient.safety;
        const found = s.kind === "urgent" ? `urgent symptom${s.symptoms.length ? ` (${s.symptoms.join(", ")})` : ""}` : "medicine question";
        row("Safety layer", `${found}: "${s.matched.join('", "')}"; the classifier had said ` +
            `${s.classifier_intent || "–"} (${percent(s.classifier_confidence)})`);
      }
      const entities = (patient.entities || []).map((e) => `${e.entity}: ${e.value}${e.text && e.text !== e.value ? ` ("${e.text}")` : ""}`);
      row("Entities", entities.length ? entities.join(", ") : "–");
    }
    const slotText = Object.entries(slots || {}).map(([name, value]) => `${name} = ${JSON.stringify(value)}`);
    row("Slots", slotText.length ? slotText.join(", ") : "–");
    row("Actions", (actions || []).length ? actions.join(" → ") : "–");
    return list;
  }

  function answersBlock(answers) {
    return el("div", { class: "answers" }, (answers || []).map((answer) =>
      el("div", { class: "bot" },
        answer.text ? el("p", { text: answer.text }) : null,
        (answer.buttons || []).length ? el("div", { class: "chips" }, answer.buttons.map((b) => el("span", { class: "chip", text: b }))) : null)));
  }

  // --- tabs --------------------------------------------------------------------------------------
  const loaders = {};
  function showTab(tab) {
    for (const other of document.querySelectorAll('[role="tab"]')) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    const load = loaders[tab.id];
    if (load) load().catch((error) => say(error.message, true));
  }

  function setUpTabs() {
    const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
    tabs.forEach((tab, index) => {
      tab.addEventListener("click", () => showTab(tab));
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const next = tabs[(index + step + tabs.length) % tabs.length];
        next.focus();
        showTab(next);
      });
      tab.tabIndex = tab.getAttribute("aria-selected") === "true" ? 0 : -1;
    });
  }

  // --- Try it ------------------------------------------------------------------------------------
  async function sendTry(event) {
    event.preventDefault();
    const input = $("try-message");
    const message = input.value.trim();
    if (!message) return;
    input.value = "";
    const turn = el("article", { class: "turn" }, el("p", { class: "patient", text: message }));
    $("try-log").append(turn);
    try {
      const result = await api("POST", "try", { message, conversation: state.tryConversation || undefined });
      state.tryConversation = result.conversation;
      turn.append(answersBlock(result.answers), details(result.patient, result.actions, result.slots_set, result.slots));
      turn.dataset.language = (result.patient && result.patient.language) || (result.slots && result.slots.language) || "";
      say("");
    } catch (error) {
      turn.append(el("p", { class: "error", text: error.message }));
    }
    input.focus();
  }

  // --- Review ------------------------------------------------------------------------------------
  function fillSelect(select, values) {
    for (const { value, label } of values) select.append(el("option", { value, text: label }));
  }

  async function loadOptions() {
    if (state.options) return state.options;
    state.options = await api("GET", "options");
    const form = $("filters");
    fillSelect(form.elements.language, state.options.languages.map((l) => ({ value: l, label: l })));
    fillSelect(form.elements.procedure, state.options.procedures.map((p) => ({ value: p.id, label: p.title })));
    return state.options;
  }

  function masked() {
    return $("mask").checked ? "true" : "false";
  }

  async function search(page) {
    await loadOptions();
    state.page = page || 1;
    const query = new URLSearchParams();
    for (const [name, value] of new FormData($("filters"))) if (value !== "") query.set(name, value);
    query.set("page", state.page);
    query.set("mask", masked());
    // Opening the tab and submitting a filter can overlap: only the latest search may draw the list.
    const ticket = (state.searchTicket = (state.searchTicket || 0) + 1);
    const listing = await api("GET", "conversations?" + query);
    if (ticket !== state.searchTicket) return;
    const rows = listing.conversations.map((c) => {
      const flags = [c.handoff && "handoff", c.red_flag && "red flag", c.fallback && "fallback",
        c.low_confidence && "low confidence", c.unreadable_events && `${c.unreadable_events} unreadable`].filter(Boolean);
      return el("tr", {},
        el("td", { text: when(c.last_active) }),
        el("td", { text: c.first_message || "–" }),
        el("td", { text: c.languages.join(", ") || "–" }),
        el("td", { text: c.procedures.join(", ") || "–" }),
        el("td", { text: c.turns }),
        el("td", { text: flags.join(", ") || "–" }),
        el("td", {}, el("button", { type: "button", text: "Open", onclick: () => openConversation(c.id) })));
    });
    $("review-list").replaceChildren(listing.total ? el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["Last active", "First message", "Languages", "Procedures", "Turns", "Marks", ""].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows)) : el("p", { text: "No conversations match." }));
    const pages = Math.max(1, Math.ceil(listing.total / listing.page_size));
    $("review-pager").replaceChildren(
      el("button", { type: "button", text: "Previous", disabled: state.page <= 1, onclick: () => search(state.page - 1).catch((e) => say(e.message, true)) }),
      el("span", { text: ` Page ${state.page} of ${pages} (${listing.total} conversations) ` }),
      el("button", { type: "button", text: "Next", disabled: state.page >= pages, onclick: () => search(state.page + 1).catch((e) => say(e.message, true)) }));
    $("conversation").hidden = true;
    $("review-list").hidden = false;
    $("review-pager").hidden = false;
  }

  function correctionForm(conversationId, turn) {
    const options = state.options;
    const intent = el("select", { "aria-label": "The right intent" },
      options.intents.map((i) => el("option", { value: i.name, text: `${i.label} (${i.name})` })));
    const procedure = el("select", { "aria-label": "The procedure meant" }, el("option", { value: "", text: "no particular procedure" }),
      options.procedures.map((p) => el("option", { value: p.id, text: p.title })));
    const form = el("form", { class: "correction" },
      el("label", {}, "Meant: ", intent), el("label", {}, " Procedure: ", procedure),
      el("button", { type: "submit", text: "Save correction" }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const saved = await api("POST", "corrections", { conversation: conversationId, turn: turn.index,
          intent: intent.value, procedure: procedure.value || null });
        form.replaceChildren(el("p", { class: "ok", text: `Saved: "${saved.text}" is ${saved.intent}.` }));
      } catch (error) {
        say(error.message, true);
      }
    });
    return form;
  }

  async function eraseConversation() {
    if (!window.confirm("Erase this conversation for good? It cannot be undone.")) return;
    try {
      await api("POST", `conversations/${encodeURIComponent(state.conversation)}/erase`, { confirm: true });
      say("The conversation was erased.");
      await search(state.page);
    } catch (error) {
      say(error.message, true);
    }
  }

  function renderTurn(conversationId, turn) {
    const article = el("article", { class: "turn", "data-turn": turn.index });
    if (turn.patient) {
      article.append(el("p", { class: "patient" }, el("span", { class: "time", text: when(turn.time) }), turn.patient.text || "(no text)"));
    } else {
      article.append(el("p", { class: "start", text: `Conversation start ${when(turn.time)}` }));
    }
    article.append(answersBlock(turn.answers), details(turn.patient, turn.actions, turn.slots));
    for (const bad of turn.unreadable || []) {
      article.append(el("p", { class: "unreadable", text: `Unreadable stored event #${bad.id} (${bad.type_name}): ${bad.error}` }));
    }
    if (turn.patient && turn.patient.text && state.reviewer) {
      const button = el("button", { type: "button", class: "misunderstood", text: "Misunderstood? Correct it" });
      button.addEventListener("click", () => button.replaceWith(correctionForm(conversationId, turn)));
      article.append(button);
    }
    return article;
  }

  async function loadTurns() {
    const id = state.conversation;
    const page = await api("GET", `conversations/${encodeURIComponent(id)}?offset=${state.nextOffset}&limit=50&mask=${masked()}`);
    $("conversation-title").textContent = `Conversation ${id}: ${page.total_turns} turns, ${page.summary.languages.join(", ") || "no language"}`;
    for (const turn of page.turns) $("conversation-turns").append(renderTurn(id, turn));
    state.nextOffset = page.offset + page.turns.length;
    $("more-turns").hidden = state.nextOffset >= page.total_turns;
  }

  async function openConversation(id) {
    await loadOptions();
    state.conversation = id;
    state.nextOffset = 0;
    $("conversation-turns").replaceChildren();
    $("download-test").href = `/staff/api/conversations/${encodeURIComponent(id)}/test.yml`;
    $("export-patient").href = `/staff/api/conversations/${encodeURIComponent(id)}/export.json`;
    $("review-list").hidden = true;
    $("review-pager").hidden = true;
    $("conversation").hidden = false;
    try {
      await loadTurns();
      $("conversation-title").focus();
    } catch (error) {
      say(error.message, true);
    }
  }

  async function saveAsTest() {
    try {
      const saved = await api("POST", `conversations/${encodeURIComponent(state.conversation)}/save-test`, {});
      say(`Saved as tests/conversations/saved/${saved.saved}.`);
    } catch (error) {
      say(error.message, true);
    }
  }

  // --- Corrections and coverage -----------------------------------------------------------------
  async function loadCorrections() {
    const { corrections } = await api("GET", "corrections");
    $("corrections-list").replaceChildren(corrections.length ? el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["Message", "Meant", "Procedure", "Language", "By", "When", ""].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, corrections.map((c) => el("tr", {},
        el("td", { text: c.text }), el("td", { text: c.intent }), el("td", { text: c.procedure || "–" }),
        el("td", { text: c.language }), el("td", { text: c.corrected_by }), el("td", { text: when(c.corrected_at) }),
        el("td", {}, el("button", { type: "button", text: "Remove", onclick: async () => {
          await api("POST", "corrections/remove", { text: c.text, language: c.language }).catch((e) => say(e.message, true));
          loadCorrections();
        } })))))) : el("p", { text: "No corrections yet." }));
  }

  async function loadCoverage() {
    const table = await api("GET", "coverage");
    const labels = { documented: "documented", general: "general", not_covered: "not covered" };
    $("coverage-table").replaceChildren(
      el("p", { text: table.statuses.map((s) => `${labels[s]}: ${table.totals[s]}`).join(" · ") }),
      el("table", { class: "list coverage" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Procedure" }), el("th", { scope: "col", text: "Topic" }),
          table.languages.map((l) => el("th", { scope: "col", text: l })), el("th", { scope: "col", text: "Sources" }))),
        el("tbody", {}, table.rows.map((row) => el("tr", {},
          el("td", { text: row.procedure_title }), el("td", { text: row.topic_label }),
          table.languages.map((l) => el("td", { class: `cov ${row.languages[l].status}`, title: row.languages[l].preview, lang: l },
            labels[row.languages[l].status])),
          el("td", { class: "sources", text: row.sources.join(", ") }))))));
  }

  // --- start -------------------------------------------------------------------------------------
  async function start() {
    setUpTabs();
    loaders["tab-review"] = () => search(state.page);
    loaders["tab-corrections"] = loadCorrections;
    loaders["tab-coverage"] = loadCoverage;
    $("try-form").addEventListener("submit", sendTry);
    $("try-new").addEventListener("click", () => { state.tryConversation = null; $("try-log").replaceChildren(); $("try-message").focus(); });
    $("filters").addEventListener("submit", (event) => { event.preventDefault(); search(1).catch((e) => say(e.message, true)); });
    $("conversation-back").addEventListener("click", () => search(state.page).catch((e) => say(e.message, true)));
    $("more-turns").addEventListener("click", () => loadTurns().catch((e) => say(e.message, true)));
    $("save-test").addEventListener("click", saveAsTest);
    $("erase-conversation").addEventListener("click", eraseConversation);
    $("conversation-title").tabIndex = -1;
    $("logout").addEventListener("click", async () => {
      await api("POST", "../logout", {}).catch(() => null);
      window.location.href = "/staff/";
    });
    try {
      const session = await api("GET", "session");
      $("user-name").textContent = `${session.user} (${session.role})`;
      // A viewer sees masked data only; the server refuses the rest to a viewer in any case.
      state.reviewer = session.role === "reviewer";
      for (const element of document.querySelectorAll("[data-reviewer-only]")) element.hidden = !state.reviewer;
    } catch (error) {
      say(error.message, true);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
