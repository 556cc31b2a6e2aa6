/*
 * The hospital website's chat widget for the spine-surgery patient assistant.
 *
 * Embedding is one tag (docs/channels/website.md lists every option):
 *   <script src="https://<web host>/widget/widget.js" data-server-url="https://<rasa host>" defer></script>
 *
 * It talks to Rasa's socket.io channel (Socket.IO protocol v5) with socket.io-client 4.x, loaded
 * from vendor/ beside this file. The protocol: `session_request` {session_id} -> `session_confirm`
 * id; `user_uttered` {message, session_id} -> `bot_uttered` {text, quick_replies?}, one event per
 * paragraph. The server acknowledges `user_uttered` once the bot has finished answering, which is
 * what ends the typing indicator and takes the message off the outbox. A message the server cannot
 * read is answered with `message_refused` {error} and marked "not sent".
 *
 * Safety: everything shown is built from DOM nodes and textContent, never innerHTML, so markup in
 * a bot answer or a patient's message is displayed as text and never run.
 */
(function () {
  "use strict";

  const SCRIPT = document.currentScript;
  const LANGUAGES = ["th", "ko", "en", "zh"];
  const USER_EVENT = "user_uttered";
  const BOT_EVENT = "bot_uttered";
  const REFUSED_EVENT = "message_refused"; // bot/channels/socketio.py: the event was malformed
  const MAX_MESSAGE_CHARS = 1000; // the assistant cuts longer messages anyway (bot/text_input.py)
  const MAX_STORED_MESSAGES = 200;
  const MAX_QUICK_REPLIES = 10;
  const ACK_TIMEOUT_MS = 30000;
  const SHOW_CONNECTING_AFTER_MS = 800; // a quick connect should not flash a status line
  const STORE_VERSION = 1;
  const DEFAULT_COLOR = "#0b6e4f";

  const STRINGS = {
    th: {
      languageName: "ไทย",
      launcher: "สอบถามเรื่องผ่าตัดกระดูกสันหลัง",
      unread: "มีข้อความใหม่",
      title: "ผู้ช่วยข้อมูลการผ่าตัดกระดูกสันหลัง",
      close: "ปิดหน้าต่างแชท",
      newConversation: "เริ่มการสนทนาใหม่",
      confirmNew: "เริ่มการสนทนาใหม่หรือไม่ ประวัติการสนทนานี้จะถูกลบออกจากอุปกรณ์นี้",
      language: "ภาษา",
      notice: "ข้อมูลทั่วไปจากเอกสารของโรงพยาบาล ไม่ใช่คำแนะนำทางการแพทย์ หากมีเหตุฉุกเฉิน โปรดโทรแจ้งหมายเลขฉุกเฉินทันที",
      welcome: "สวัสดีค่ะ สอบถามเรื่องการผ่าตัดกระดูกสันหลังแบบแผลเล็กได้เลย เช่น วิธีการผ่าตัด ความเสี่ยง และการพักฟื้น",
      log: "บทสนทนา",
      you: "คุณ",
      assistant: "ผู้ช่วย",
      suggestions: "ตัวเลือกคำตอบ",
      opensInNewTab: "(เปิดในแท็บใหม่)",
      queued: "รอส่ง",
      refused: "ส่งไม่สำเร็จ: ระบบอ่านข้อความนี้ไม่ได้",
      typing: "ผู้ช่วยกำลังพิมพ์…",
      connecting: "กำลังเชื่อมต่อ…",
      offline: "การเชื่อมต่อขาดหาย กำลังลองใหม่… ข้อความของคุณจะถูกส่งเมื่อเชื่อมต่อได้",
      unavailable: "ขณะนี้ไม่สามารถใช้งานแชทได้ โปรดลองใหม่ภายหลัง",
      talkToStaff: "คุยกับเจ้าหน้าที่",
      inputLabel: "ข้อความของคุณ",
      placeholder: "พิมพ์คำถามของคุณ…",
      send: "ส่ง",
    },
    ko: {
      languageName: "한국어",
      launcher: "척추 수술 문의",
      unread: "새 메시지",
      title: "척추 수술 안내 도우미",
      close: "채팅 닫기",
      newConversation: "새 대화 시작",
      confirmNew: "새 대화를 시작할까요? 지금 대화 내용은 이 기기에서 삭제됩니다.",
      language: "언어",
      notice: "병원 자료에 기반한 일반 정보이며 의학적 조언이 아닙니다. 응급 상황에는 즉시 응급 전화로 연락하세요.",
      welcome: "안녕하세요! 최소침습 척추 수술에 대해 물어보세요. 수술 방법, 위험, 회복 등에 대해 안내해 드립니다.",
      log: "대화 내용",
      you: "나",
      assistant: "도우미",
      suggestions: "추천 답변",
      opensInNewTab: "(새 탭에서 열림)",
      queued: "전송 대기 중",
      refused: "전송되지 않음: 이 메시지를 읽을 수 없습니다.",
      typing: "도우미가 답변을 작성하고 있습니다…",
      connecting: "연결 중…",
      offline: "연결이 끊겼습니다. 다시 연결하는 중… 메시지는 연결되면 전송됩니다.",
      unavailable: "지금은 채팅을 이용할 수 없습니다. 잠시 후 다시 시도해 주세요.",
      talkToStaff: "직원 연결",
      inputLabel: "메시지",
      placeholder: "질문을 입력하세요…",
      send: "보내기",
    },
    en: {
      languageName: "English",
      launcher: "Ask about spine surgery",
      unread: "New message",
      title: "Spine surgery assistant",
      close: "Close chat",
      newConversation: "New conversation",
      confirmNew: "Start a new conversation? This conversation will be removed from this device.",
      language: "Language",
      notice: "General information from the hospital's documents, not medical advice. In an emergency, call your emergency number now.",
      welcome: "Hello! Ask me about minimally invasive spine surgery: what a procedure is, its risks, recovery and more.",
      log: "Conversation",
      you: "You",
      assistant: "Assistant",
      suggestions: "Suggested replies",
      opensInNewTab: "(opens in a new tab)",
      queued: "Waiting to send",
      refused: "Not sent: this message could not be read.",
      typing: "The assistant is typing…",
      connecting: "Connecting…",
      offline: "Connection lost. Retrying… Your messages will be sent when it is back.",
      unavailable: "The chat is not available right now. Please try again later.",
      talkToStaff: "Talk to staff",
      inputLabel: "Your message",
      placeholder: "Type your question…",
      send: "Send",
    },
    zh: {
      languageName: "中文",
      launcher: "脊柱手术咨询",
      unread: "新消息",
      title: "脊柱手术咨询助手",
      close: "关闭聊天",
      newConversation: "开始新对话",
      confirmNew: "要开始新对话吗？当前对话记录将从此设备上删除。",
      language: "语言",
      notice: "本助手提供医院资料中的一般信息，不是医疗建议。如遇紧急情况，请立即拨打急救电话。",
      welcome: "您好！欢迎咨询脊柱微创手术的相关问题，例如手术方式、风险和术后恢复。",
      log: "对话记录",
      you: "您",
      assistant: "助手",
      suggestions: "建议回复",
      opensInNewTab: "（在新标签页中打开）",
      queued: "等待发送",
      refused: "未发送：无法读取此消息。",
      typing: "助手正在输入…",
      connecting: "正在连接…",
      offline: "连接已断开，正在重试…… 连接恢复后将发送您的消息。",
      unavailable: "聊天暂时无法使用，请稍后再试。",
      talkToStaff: "联系工作人员",
      inputLabel: "您的消息",
      placeholder: "请输入您的问题…",
      send: "发送",
    },
  };

  // ---------------------------------------------------------------- configuration

  function readConfig() {
    // window.SpineChatConfig (set before this script) wins over the script tag's data-* attributes.
    const given = window.SpineChatConfig || {};
    const data = SCRIPT ? SCRIPT.dataset : {};
    const pick = (key, fallback) => {
      for (const source of [given, data]) {
        const value = source[key];
        if (value !== undefined && value !== null && String(value).trim() !== "") return String(value).trim();
      }
      return fallback;
    };
    const scriptUrl = SCRIPT && SCRIPT.src ? SCRIPT.src : pick("widgetUrl", "");
    return {
      serverUrl: pick("serverUrl", ""),
      socketPath: pick("socketPath", ""),
      hospitalName: pick("hospitalName", ""),
      defaultLanguage: pick("defaultLanguage", "en").toLowerCase(),
      primaryColor: pick("primaryColor", DEFAULT_COLOR),
      position: pick("position", "right") === "left" ? "left" : "right",
      historyHours: Math.max(Number(pick("historyHours", "24")) || 24, 0.01),
      assetBase: scriptUrl ? new URL("./", scriptUrl).href : null,
    };
  }

  /** {origin, path} for socket.io: a path on the server URL (a reverse proxy's prefix) goes in front of /socket.io. */
  function socketAddress(config) {
    let url;
    try {
      url = new URL(config.serverUrl, window.location.href);
    } catch (error) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    const path = config.socketPath || url.pathname.replace(/\/+$/, "") + "/socket.io";
    return { origin: url.origin, path: path };
  }

  function pickLanguage(chosen, defaultLanguage) {
    if (LANGUAGES.includes(chosen)) return chosen;
    const tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (const tag of tags) {
      const primary = String(tag).toLowerCase().split(/[-_]/)[0];
      if (LANGUAGES.includes(primary)) return primary;
    }
    return LANGUAGES.includes(defaultLanguage) ? defaultLanguage : "en";
  }

  // ---------------------------------------------------------------- colours

  function parseHexColor(value) {
    const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value).trim());
    if (!match) return null;
    const hex = match[1].length === 3 ? match[1].replace(/./g, "$&$&") : match[1];
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }

  function luminance(rgb) {
    const [r, g, b] = rgb.map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function contrast(a, b) {
    const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (high + 0.05) / (low + 0.05);
  }

  /** The hospital's colour, and text and link colours that stay readable (WCAG AA) with it. */
  function colours(primaryColor) {
    let primary = parseHexColor(primaryColor);
    if (!primary) {
      console.warn("Spine chat: data-primary-color must be a hex colour such as #0b6e4f; using the default.");
      primary = parseHexColor(DEFAULT_COLOR);
    }
    const white = [255, 255, 255];
    const ink = [17, 24, 39];
    const bubble = [241, 243, 245];
    const css = (rgb) => `rgb(${rgb.join(", ")})`;
    return {
      primary: css(primary),
      onPrimary: css(contrast(primary, white) >= contrast(primary, ink) ? white : ink),
      link: contrast(primary, bubble) >= 4.5 ? css(primary) : "#0b57d0",
    };
  }

  // ---------------------------------------------------------------- storage

  /** The conversation kept in localStorage, so a reload restores it; in memory only where storage is off. */
  function createStore(key, historyHours) {
    let storage = null;
    try {
      storage = window.localStorage;
      storage.setItem(key + ":probe", "1");
      storage.removeItem(key + ":probe");
    } catch (error) {
      storage = null;
    }
    return {
      load() {
        if (!storage) return null;
        try {
          const saved = JSON.parse(storage.getItem(key));
          if (!saved || saved.version !== STORE_VERSION) return null;
          // On a shared computer an old conversation should not greet the next person.
          if (!(Date.now() - Number(saved.updatedAt) < historyHours * 3600 * 1000)) return null;
          return saved;
        } catch (error) {
          return null;
        }
      },
      save(state) {
        if (!storage) return;
        try {
          storage.setItem(key, JSON.stringify(Object.assign({ version: STORE_VERSION, updatedAt: Date.now() }, state)));
        } catch (error) {
          // Storage full or blocked: the conversation goes on, it just will not survive a reload.
        }
      },
    };
  }

  function text(value) {
    return typeof value === "string" ? value : "";
  }

  /** Buttons as the bot sent them ({title, payload}); anything else is dropped. */
  function validButtons(buttons) {
    if (!Array.isArray(buttons)) return [];
    return buttons
      .filter((b) => b && typeof b === "object" && text(b.title).trim())
      .slice(0, MAX_QUICK_REPLIES)
      .map((b) => ({ title: b.title.trim(), payload: text(b.payload).trim() || b.title.trim() }));
  }

  function restoredMessage(m) {
    if (!m || typeof m !== "object" || (m.from !== "bot" && m.from !== "patient") || typeof m.text !== "string") return null;
    return {
      id: text(m.id) || newId(),
      from: m.from,
      text: m.text,
      buttons: validButtons(m.buttons),
      buttonsUsed: Boolean(m.buttonsUsed),
      chosen: Number.isInteger(m.chosen) ? m.chosen : null,
      pending: Boolean(m.pending),
      refused: Boolean(m.refused),
    };
  }

  function restoredState(saved) {
    const state = { sessionId: null, chosenLanguage: null, open: false, messages: [], outbox: [] };
    if (!saved) return state;
    state.sessionId = text(saved.sessionId) || null;
    state.chosenLanguage = LANGUAGES.includes(saved.chosenLanguage) ? saved.chosenLanguage : null;
    state.open = Boolean(saved.open);
    state.messages = (Array.isArray(saved.messages) ? saved.messages : []).map(restoredMessage).filter(Boolean);
    state.outbox = (Array.isArray(saved.outbox) ? saved.outbox : [])
      .filter((o) => o && typeof o.text === "string" && o.text)
      .map((o) => ({ id: text(o.id) || newId(), text: o.text }));
    return state;
  }

  function newId() {
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  // ---------------------------------------------------------------- safe rendering

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    restart: "M4 12a8 8 0 1 0 2.3-5.6M4 4v4.5h4.5",
    send: "M4 12l16-8-6 16-2.5-6.5z",
  };

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon icon--" + name);
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  /** The language of a text by its script, so screen readers pick the right voice and CJK the right glyphs. */
  function scriptLanguage(value) {
    const count = (re) => (value.match(re) || []).length;
    const counts = {
      th: count(/[\u0E00-\u0E7F]/g),
      ko: count(/[\uAC00-\uD7AF\u1100-\u11FF\u3130-\u318F]/g),
      zh: count(/[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]/g),
    };
    const best = Object.keys(counts).sort((a, b) => counts[b] - counts[a])[0];
    return counts[best] ? best : /[A-Za-z]/.test(value) ? "en" : null;
  }

  function safeHref(raw) {
    try {
      const url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  // **bold**, [label](url) and bare http(s) URLs; everything else is plain text.
  const INLINE = /\*\*([^*\n]+?)\*\*|\[([^\]\n]+)\]\(([^()\s]+)\)|(https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]+)/g;
  const BULLET = /^\s*(?:[•·▪‣◦]|[-*])\s+(.*)$/;

  function appendLink(parent, label, href, t) {
    const link = el("a", "link", label);
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.append(el("span", "sr-only link__hint", " " + t("opensInNewTab")));
    parent.append(link);
  }

  function appendInline(parent, line, t) {
    let last = 0;
    for (const match of line.matchAll(INLINE)) {
      parent.append(document.createTextNode(line.slice(last, match.index)));
      let consumed = match[0];
      if (match[1] !== undefined) {
        parent.append(el("strong", "", match[1]));
      } else if (match[2] !== undefined) {
        const href = safeHref(match[3]);
        if (href) appendLink(parent, match[2], href, t);
        else parent.append(document.createTextNode(match[0])); // javascript: and friends stay text
      } else {
        // A sentence's closing punctuation is not part of the address.
        consumed = match[4].replace(/[.,;:!?)\]]+$/, "");
        const href = safeHref(consumed);
        if (href) appendLink(parent, consumed, href, t);
        else parent.append(document.createTextNode(consumed));
      }
      last = match.index + consumed.length;
    }
    parent.append(document.createTextNode(line.slice(last)));
  }

  /** A bot answer as paragraphs, line breaks, bullet lists, bold and links: DOM nodes only. */
  function renderRichText(parent, value, t) {
    let list = null;
    let paragraph = null;
    for (const line of value.split(/\r?\n/)) {
      const bullet = BULLET.exec(line);
      if (bullet) {
        if (!list) {
          list = el("ul", "bullets");
          parent.append(list);
        }
        paragraph = null;
        const item = el("li");
        appendInline(item, bullet[1], t);
        list.append(item);
      } else if (!line.trim()) {
        list = null;
        paragraph = null;
      } else {
        list = null;
        if (paragraph) paragraph.append(el("br"));
        else {
          paragraph = el("p", "para");
          parent.append(paragraph);
        }
        appendInline(paragraph, line, t);
      }
    }
  }

  // ---------------------------------------------------------------- the widget

  function createWidget(config, address, loadSocketIo) {
    const store = createStore("spine-chat:" + (address ? address.origin + address.path : "unconfigured"), config.historyHours);
    let state = restoredState(store.load());
    let language = pickLanguage(state.chosenLanguage, config.defaultLanguage);
    let socket = null;
    let socketIoLoading = null;
    let confirmed = false; // session_confirm received on the current connection
    let inFlight = null; // the outbox entry sent and not yet acknowledged
    let connection = "idle"; // idle | connecting | online | offline | unavailable
    let connectingTimer = null;
    let unread = 0;

    const t = (key) => (STRINGS[language] && STRINGS[language][key]) || STRINGS.en[key];
    const save = () => store.save(state);

    // ---- the DOM, in focus order: launcher; header (language, new conversation, close); log;
    // quick replies inside it; talk to staff; input; send.
    const root = el("div", "root");
    root.dataset.position = config.position;
    const launcher = el("button", "launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-controls", "spine-chat-panel");
    launcher.setAttribute("aria-expanded", "false");
    const launcherLabel = el("span", "launcher__label");
    const launcherUnread = el("span", "sr-only");
    const badge = el("span", "launcher__badge");
    badge.setAttribute("aria-hidden", "true");
    badge.hidden = true;
    launcher.append(icon("chat"), launcherLabel, launcherUnread, badge);

    const panel = el("section", "panel");
    panel.id = "spine-chat-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "false");
    panel.setAttribute("aria-labelledby", "spine-chat-title");
    panel.setAttribute("aria-describedby", "spine-chat-notice");

    const header = el("header", "header");
    const titles = el("div", "header__titles");
    const title = el("h2", "header__title");
    title.id = "spine-chat-title";
    const subtitle = el("p", "header__subtitle", config.hospitalName);
    subtitle.hidden = !config.hospitalName;
    titles.append(title, subtitle);
    const actions = el("div", "header__actions");
    const languageLabel = el("label", "sr-only");
    languageLabel.htmlFor = "spine-chat-language";
    const languageSelect = el("select", "language");
    languageSelect.id = "spine-chat-language";
    for (const code of LANGUAGES) {
      const option = el("option", "", STRINGS[code].languageName);
      option.value = code;
      option.lang = code;
      languageSelect.append(option);
    }
    const newButton = el("button", "icon-button");
    newButton.id = "spine-chat-new";
    newButton.type = "button";
    newButton.append(icon("restart"));
    const closeButton = el("button", "icon-button");
    closeButton.id = "spine-chat-close";
    closeButton.type = "button";
    closeButton.append(icon("close"));
    actions.append(languageLabel, languageSelect, newButton, closeButton);
    header.append(titles, actions);

    const notice = el("p", "notice");
    notice.id = "spine-chat-notice";
    const status = el("p", "status");
    status.setAttribute("role", "status");
    status.hidden = true;

    const log = el("div", "log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions");
    log.tabIndex = 0; // a keyboard user can scroll the history
    const typing = el("div", "typing");
    typing.hidden = true;
    typing.setAttribute("role", "status");
    const typingText = el("span", "sr-only");
    const dots = el("span", "typing__dots");
    dots.setAttribute("aria-hidden", "true");
    dots.append(el("i"), el("i"), el("i"));
    typing.append(dots, typingText);

    const toolbar = el("div", "toolbar");
    const staffButton = el("button", "staff");
    staffButton.type = "button";
    toolbar.append(staffButton);

    const form = el("form", "composer");
    form.noValidate = true;
    const inputLabel = el("label", "sr-only");
    inputLabel.htmlFor = "spine-chat-input";
    const input = el("textarea", "composer__input");
    input.id = "spine-chat-input";
    input.rows = 1;
    input.maxLength = MAX_MESSAGE_CHARS;
    input.autocomplete = "off";
    const sendButton = el("button", "composer__send");
    sendButton.type = "submit";
    const sendLabel = el("span", "composer__send-label");
    sendButton.append(icon("send"), sendLabel);
    form.append(inputLabel, input, sendButton);

    panel.append(header, notice, status, log, typing, toolbar, form);
    root.append(panel, launcher);

    // ---- strings and state shown

    function applyStrings() {
      root.lang = language;
      panel.lang = language;
      languageSelect.value = language;
      launcherLabel.textContent = t("launcher");
      launcherUnread.textContent = unread ? " (" + t("unread") + ")" : "";
      title.textContent = t("title");
      languageLabel.textContent = t("language");
      newButton.setAttribute("aria-label", t("newConversation"));
      newButton.title = t("newConversation");
      closeButton.setAttribute("aria-label", t("close"));
      closeButton.title = t("close");
      notice.textContent = t("notice");
      log.setAttribute("aria-label", t("log"));
      typingText.textContent = t("typing");
      staffButton.textContent = t("talkToStaff");
      inputLabel.textContent = t("inputLabel");
      input.placeholder = t("placeholder");
      sendLabel.textContent = t("send");
      showConnection();
    }

    function showConnection() {
      root.dataset.connection = connection;
      const key = { connecting: "connecting", offline: "offline", unavailable: "unavailable" }[connection];
      status.hidden = !key;
      status.textContent = key ? t(key) : "";
      status.className = "status status--" + connection;
    }

    function setConnection(next) {
      clearTimeout(connectingTimer);
      if (next === "connecting" && connection !== "offline") {
        connectingTimer = setTimeout(() => {
          connection = "connecting";
          showConnection();
        }, SHOW_CONNECTING_AFTER_MS);
        return;
      }
      connection = next;
      showConnection();
    }

    function setBusy(busy) {
      const shown = !typing.hidden;
      typing.hidden = !busy;
      if (busy && !shown) scrollToEnd();
    }

    function scrollToEnd() {
      log.scrollTop = log.scrollHeight;
    }

    /** An answer longer than the panel is read from its start: the patient's question stays at the top. */
    function revealLatestTurn() {
      const question = Array.from(log.querySelectorAll(".msg--patient")).pop();
      if (question && log.scrollHeight - question.offsetTop > log.clientHeight) log.scrollTop = question.offsetTop - 12;
      else scrollToEnd();
    }

    function messageNode(message) {
      const item = el("div", "msg msg--" + message.from);
      item.classList.toggle("msg--pending", message.pending);
      item.classList.toggle("msg--refused", message.refused);
      item.dataset.id = message.id;
      const lang = scriptLanguage(message.text);
      if (lang) item.lang = lang;
      item.append(el("span", "sr-only msg__who", whoSaid(message.from)));
      const body = el("div", "msg__body");
      if (message.from === "bot") renderRichText(body, message.text, t);
      else body.textContent = message.text;
      item.append(body);
      if (message.from === "patient") item.append(el("span", "msg__status", patientStatus(message.refused)));
      if (message.buttons.length) item.append(quickRepliesNode(message));
      return item;
    }

    function quickRepliesNode(message) {
      const group = el("div", "quick-replies");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", t("suggestions"));
      message.buttons.forEach((button, index) => {
        const node = el("button", "quick-reply" + (message.chosen === index ? " quick-reply--chosen" : ""), button.title);
        node.type = "button";
        node.disabled = message.buttonsUsed;
        const lang = scriptLanguage(button.title);
        if (lang) node.lang = lang; // lang="" would mean "unknown" and undo the inherited one
        node.addEventListener("click", () => chooseQuickReply(message, index));
        group.append(node);
      });
      return group;
    }

    function patientStatus(refused) {
      return refused ? t("refused") : t("queued");
    }

    function whoSaid(from) {
      return (from === "bot" ? t("assistant") : t("you")) + ": ";
    }

    function renderAll() {
      log.replaceChildren();
      const welcome = el("div", "msg msg--bot msg--welcome");
      welcome.append(el("span", "sr-only msg__who", whoSaid("bot")), el("div", "msg__body", t("welcome")));
      log.append(welcome);
      for (const message of state.messages) log.append(messageNode(message));
      scrollToEnd();
    }

    /** Updates a shown message in place: replacing it would make screen readers announce it again. */
    function updateNode(message) {
      const node = log.querySelector('[data-id="' + CSS.escape(message.id) + '"]');
      if (!node) return;
      node.classList.toggle("msg--pending", message.pending);
      node.classList.toggle("msg--refused", message.refused);
      const status = node.querySelector(".msg__status");
      if (status) status.textContent = patientStatus(message.refused);
      node.querySelectorAll(".quick-reply").forEach((button, index) => {
        button.disabled = message.buttonsUsed;
        button.classList.toggle("quick-reply--chosen", message.chosen === index);
      });
    }

    /** The interface language changed: the labels inside the history follow, in place, unannounced. */
    function relabelHistory() {
      log.querySelectorAll(".msg").forEach((node) => {
        node.querySelector(".msg__who").textContent = whoSaid(node.classList.contains("msg--bot") ? "bot" : "patient");
      });
      log.querySelector(".msg--welcome .msg__body").textContent = t("welcome");
      log.querySelectorAll(".msg__status").forEach(
        (node) => (node.textContent = patientStatus(node.parentElement.classList.contains("msg--refused"))),
      );
      log.querySelectorAll(".quick-replies").forEach((node) => node.setAttribute("aria-label", t("suggestions")));
      log.querySelectorAll(".link__hint").forEach((node) => (node.textContent = " " + t("opensInNewTab")));
    }

    function addMessage(message) {
      state.messages.push(message);
      if (state.messages.length > MAX_STORED_MESSAGES) {
        state.messages = state.messages.slice(-MAX_STORED_MESSAGES);
        save();
        renderAll();
        return;
      }
      save();
      log.append(messageNode(message));
      scrollToEnd();
    }

    function updateBadge() {
      badge.hidden = !unread;
      badge.textContent = unread > 9 ? "9+" : String(unread);
      launcherUnread.textContent = unread ? " (" + t("unread") + ")" : "";
    }

    // ---- the conversation

    /** Sends `message` to the assistant; `shownAs` is the patient's bubble (null for silent payloads). */
    function sendToAssistant(message, shownAs) {
      const cleaned = message.trim().slice(0, MAX_MESSAGE_CHARS);
      if (!cleaned) return false;
      retireQuickReplies();
      const entry = { id: newId(), text: cleaned };
      if (shownAs !== null) {
        addMessage({
          id: entry.id, from: "patient", text: shownAs.trim(), buttons: [], buttonsUsed: false, chosen: null,
          pending: true, refused: false,
        });
      }
      state.outbox.push(entry);
      save();
      connect();
      flush();
      return true;
    }

    /** Sends the oldest queued message once connected; one at a time, so answers come in order. */
    function flush() {
      if (inFlight || !socket || !socket.connected || !confirmed) return;
      const entry = state.outbox[0];
      if (!entry) {
        setBusy(false);
        return;
      }
      inFlight = entry;
      setBusy(true);
      socket.timeout(ACK_TIMEOUT_MS).emit(USER_EVENT, { message: entry.text, session_id: state.sessionId }, (error) => {
        if (inFlight !== entry) return; // the connection dropped first: it is sent again after reconnecting
        inFlight = null;
        if (error && !socket.connected) return;
        // Acknowledged (or still being answered after ACK_TIMEOUT_MS on a live connection): it has arrived.
        state.outbox = state.outbox.filter((queued) => queued.id !== entry.id);
        const shown = state.messages.find((m) => m.id === entry.id);
        if (shown) {
          shown.pending = false;
          updateNode(shown);
        }
        save();
        flush();
      });
    }

    function retireQuickReplies() {
      for (const message of state.messages) {
        if (message.buttons.length && !message.buttonsUsed) {
          message.buttonsUsed = true;
          updateNode(message);
        }
      }
    }

    function chooseQuickReply(message, index) {
      if (message.buttonsUsed) return;
      message.chosen = index;
      const button = message.buttons[index];
      sendToAssistant(button.payload, button.title);
      input.focus();
    }

    function onBotMessage(raw) {
      if (!raw || typeof raw !== "object") return;
      const message = {
        id: newId(),
        from: "bot",
        text: text(raw.text),
        buttons: validButtons(raw.quick_replies || raw.buttons),
        buttonsUsed: false,
        chosen: null,
        pending: false,
        refused: false,
      };
      if (!message.text.trim() && !message.buttons.length) return;
      addMessage(message);
      revealLatestTurn();
      if (panel.hidden) {
        unread += 1;
        updateBadge();
      }
    }

    /** The server could not read the message being sent (its ack follows and takes it off the outbox). */
    function onRefused(details) {
      console.warn("Spine chat: the assistant refused a message:", details && details.error);
      const shown = inFlight && state.messages.find((m) => m.id === inFlight.id);
      if (!shown) return;
      shown.refused = true;
      save();
      updateNode(shown);
    }

    function connect() {
      if (socket) {
        if (!socket.connected && !socket.active) socket.connect();
        return;
      }
      if (!address) {
        setConnection("unavailable");
        return;
      }
      if (socketIoLoading) return;
      setConnection("connecting");
      socketIoLoading = loadSocketIo().then(
        (io) => {
          socket = io(address.origin, {
            path: address.path,
            // Rasa's socket.io server does not answer CORS preflights, and a page's origin is
            // rarely Rasa's: WebSocket needs neither.
            transports: ["websocket"],
            reconnectionDelay: 1000,
            reconnectionDelayMax: 5000,
          });
          socket.on("connect", () => {
            confirmed = false;
            socket.emit("session_request", { session_id: state.sessionId });
          });
          socket.on("session_confirm", (confirmation) => {
            const sessionId = typeof confirmation === "string" ? confirmation : confirmation && confirmation.session_id;
            if (!sessionId) return;
            if (state.sessionId !== sessionId) {
              state.sessionId = String(sessionId);
              save();
            }
            confirmed = true;
            setConnection("online");
            flush();
          });
          socket.on(BOT_EVENT, onBotMessage);
          socket.on(REFUSED_EVENT, onRefused);
          socket.on("disconnect", (reason) => {
            confirmed = false;
            inFlight = null;
            setBusy(false);
            // "io client disconnect" is our own, for a new conversation: it reconnects at once.
            setConnection(reason === "io client disconnect" ? "connecting" : "offline");
            // After a server-side disconnect socket.io does not retry by itself.
            if (reason === "io server disconnect") setTimeout(() => socket.connect(), 2000);
          });
          socket.on("connect_error", () => setConnection("offline"));
        },
        (error) => {
          console.error("Spine chat: could not load socket.io-client.", error);
          socketIoLoading = null;
          setConnection("unavailable");
        },
      );
    }

    function newConversation() {
      if (state.messages.length && !window.confirm(t("confirmNew"))) return;
      state = { sessionId: null, chosenLanguage: state.chosenLanguage, open: true, messages: [], outbox: [] };
      save();
      inFlight = null;
      confirmed = false;
      setBusy(false);
      renderAll();
      if (socket) {
        // A new connection leaves the old conversation's room; session_request then gets a new id.
        socket.disconnect();
        socket.connect();
      }
      input.focus();
    }

    function setLanguage(code) {
      if (!LANGUAGES.includes(code) || code === language) return;
      language = code;
      state.chosenLanguage = code;
      save();
      applyStrings();
      relabelHistory();
      // Tells the assistant too, so its answers follow: the change_language intent with the language.
      sendToAssistant("/change_language" + JSON.stringify({ language: code }), null);
    }

    function openPanel(moveFocus) {
      panel.hidden = false;
      root.dataset.open = "true";
      launcher.setAttribute("aria-expanded", "true");
      state.open = true;
      save();
      unread = 0;
      updateBadge();
      connect();
      scrollToEnd();
      if (moveFocus) input.focus();
    }

    function closePanel() {
      panel.hidden = true;
      root.dataset.open = "false";
      launcher.setAttribute("aria-expanded", "false");
      state.open = false;
      save();
      launcher.focus();
    }

    function autosize() {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight, 128) + "px";
    }

    // ---- events

    launcher.addEventListener("click", () => (panel.hidden ? openPanel(true) : closePanel()));
    closeButton.addEventListener("click", closePanel);
    newButton.addEventListener("click", newConversation);
    languageSelect.addEventListener("change", () => setLanguage(languageSelect.value));
    staffButton.addEventListener("click", () => {
      // The language entity keeps the hand-off answer in the language the patient reads.
      sendToAssistant("/request_human" + JSON.stringify({ language: language }), t("talkToStaff"));
      input.focus();
    });
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        closePanel();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (sendToAssistant(input.value, input.value)) {
        input.value = "";
        autosize();
      }
      input.focus();
    });
    input.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter is a new line; Enter that confirms an IME word (Thai, Korean, Chinese input) does neither.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        sendButton.click();
      }
    });
    input.addEventListener("input", autosize);

    // ---- start

    applyStrings();
    renderAll();
    if (state.open) openPanel(false); // reopened after a reload, without taking the page's focus
    else if (state.outbox.length) connect(); // messages left unsent last time go out now

    return { root: root, launcher: launcher };
  }

  // ---------------------------------------------------------------- loading

  function socketIoLoader(assetBase) {
    return function loadSocketIo() {
      return new Promise((resolve, reject) => {
        if (!assetBase) {
          reject(new Error("cannot tell where widget.js was loaded from"));
          return;
        }
        // The page may have its own (older) socket.io client as window.io: ours must not replace it.
        const pagesOwn = window.io;
        const script = document.createElement("script");
        script.src = new URL("vendor/socket.io.min.js", assetBase).href;
        script.async = true;
        script.onload = () => {
          const ours = window.io;
          if (pagesOwn !== undefined) window.io = pagesOwn;
          if (typeof ours === "function") resolve(ours);
          else reject(new Error("socket.io-client did not load"));
        };
        script.onerror = () => reject(new Error("could not load " + script.src));
        document.head.append(script);
      });
    };
  }

  function mount() {
    if (document.getElementById("spine-chat-widget")) return; // the tag was included twice
    const config = readConfig();
    const address = socketAddress(config);
    if (!address) console.error("Spine chat: set data-server-url to the assistant's http(s) address.");

    const host = document.createElement("div");
    host.id = "spine-chat-widget";
    host.style.display = "none"; // until its stylesheet is in, so the page never shows it unstyled
    const shadow = host.attachShadow({ mode: "open" });
    const palette = colours(config.primaryColor);
    host.style.setProperty("--spine-chat-primary", palette.primary);
    host.style.setProperty("--spine-chat-on-primary", palette.onPrimary);
    host.style.setProperty("--spine-chat-link", palette.link);

    const stylesheet = document.createElement("link");
    stylesheet.rel = "stylesheet";
    const reveal = () => host.style.removeProperty("display");
    stylesheet.addEventListener("load", reveal);
    stylesheet.addEventListener("error", () => {
      console.error("Spine chat: could not load widget.css.");
      reveal();
    });
    if (config.assetBase) stylesheet.href = new URL("widget.css", config.assetBase).href;
    else reveal();

    const widget = createWidget(config, address, socketIoLoader(config.assetBase));
    shadow.append(stylesheet, widget.root);
    document.body.append(host);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
