// The settings page: lists the sections and who is editing them, and edits one section
// at a time under a lock taken through the JSON lock API (POST/DELETE /config/{s}/lock).
// Everything other clients wrote (owners, values) is shown as text, never as markup.
"use strict";

const POLL_MS = 1000;
const LOCK_SECONDS = 120; // asked for; the server may grant less
const OWNER_KEY = "lockwarden.owner";

const state = {
  sections: {},        // name -> value, as last read
  etag: null,          // of GET /config
  locks: [],           // GET /locks, with expiresAt (ms) added
  user: null,          // the signed-in user, with --users
  editing: null,       // { name, token, etag, timeout, lastRefresh, lastActivity, lost }
  offline: false,      // the last poll got no answer
};

const $ = (id) => document.getElementById(id);

// --- time ------------------------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "no time limit";
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

function secondsLeft(lock) {
  if (lock.expiresAt === null) return null;
  return Math.max(0, (lock.expiresAt - Date.now()) / 1000);
}

// --- the server ------------------------------------------------------------------------

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

function lockBlocking(name) {
  // A lock on the section, or a depth-infinity lock on the whole configuration.
  return state.locks.find(
    (l) =>
      (l.path === `/config/${name}` || (l.path === "/config" && l.depth === "infinity")) &&
      (l.expiresAt === null || l.expiresAt > Date.now()),
  );
}

function holder(owner) {
  return owner ? owner : "someone";
}

async function poll() {
  try {
    const [locks, config] = await Promise.all([
      fetch("/locks", { cache: "no-store" }),
      fetch("/config", { headers: state.etag ? { "If-None-Match": state.etag } : {} }),
    ]);
    if (locks.ok) {
      const now = Date.now();
      state.locks = (await locks.json()).locks.map((l) => ({
        ...l,
        expiresAt: l.secondsRemaining === null ? null : now + l.secondsRemaining * 1000,
      }));
    }
    if (config.status === 200) {
      state.sections = await config.json();
      state.etag = config.headers.get("ETag");
    }
    if (state.offline) $("status").textContent = "";
    state.offline = false;
  } catch {
    state.offline = true;
    $("status").textContent = "The device does not answer; retrying…";
  }
  render();
}

async function loadSession() {
  try {
    const response = await fetch("/session");
    if (response.ok) state.user = (await response.json()).user;
  } catch {
    // Shown as not signed in.
  }
  $("session").textContent = state.user
    ? `Signed in as ${state.user}. Your locks are held as this user.`
    : "Anyone on this network can edit: locks only keep cooperating people out of each other's way.";
}

// --- rendering -------------------------------------------------------------------------

function render() {
  const list = $("sections");
  const names = Object.keys(state.sections);
  // Rebuild only what changed, so that focus stays on a button that still exists.
  const items = new Map([...list.children].map((li) => [li.dataset.name, li]));
  for (const [name, li] of items) if (!names.includes(name)) li.remove();
  for (const name of names) {
    let li = items.get(name);
    if (!li) {
      li = sectionItem(name);
      list.appendChild(li);
    }
    updateSectionItem(li, name);
  }
  if (state.editing) updateEditorLock();
}

function sectionItem(name) {
  const li = document.createElement("li");
  li.className = "section";
  li.dataset.name = name;
  const header = document.createElement("header");
  const title = document.createElement("h2");
  title.textContent = name;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "edit";
  button.addEventListener("click", () => startEditing(name));
  header.append(title, button);
  const lock = document.createElement("p");
  lock.className = "lock";
  lock.setAttribute("aria-live", "polite");
  const value = document.createElement("pre");
  li.append(header, lock, value);
  return li;
}

function updateSectionItem(li, name) {
  const lock = lockBlocking(name);
  const mine = state.editing && state.editing.name === name && !state.editing.lost;
  const button = li.querySelector("button.edit");
  const note = li.querySelector(".lock");
  if (mine) {
    note.textContent = "You are editing this section.";
    note.className = "lock mine";
    button.textContent = "Editing";
    button.disabled = true;
  } else if (lock) {
    note.textContent = `Locked by ${holder(lock.owner)} — ${duration(secondsLeft(lock))} left`;
    note.className = "lock locked";
    button.textContent = "Edit when free";
    button.disabled = true;
  } else {
    note.textContent = "Free to edit.";
    note.className = "lock";
    button.textContent = `Edit ${name}`;
    button.disabled = state.editing !== null && !state.editing.lost;
  }
  const text = JSON.stringify(state.sections[name], null, 2);
  const pre = li.querySelector("pre");
  if (pre.textContent !== text) pre.textContent = text;
}

function updateEditorLock() {
  const e = state.editing;
  const note = $("editor-lock");
  if (e.lost) {
    note.textContent = "Your lock has ended: others may edit this section now.";
    return;
  }
  const lock = state.locks.find((l) => l.path === `/config/${e.name}`);
  note.textContent = lock
    ? `You hold the lock on ${e.name}; it is kept while you work (${duration(secondsLeft(lock))} left now).`
    : `You hold the lock on ${e.name}.`;
}

function say(message, ok = false) {
  const box = $("editor-message");
  box.textContent = message;
  box.className = ok ? "message ok" : "message";
}

// --- editing ---------------------------------------------------------------------------

function ownerName() {
  const typed = $("owner").value.trim();
  return typed || state.user || "a browser";
}

async function startEditing(name) {
  $("status").textContent = "";
  let response;
  try {
    response = await fetch(`/config/${name}/lock`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ owner: ownerName(), timeoutSeconds: LOCK_SECONDS }),
    });
  } catch {
    $("status").textContent = "The device did not answer; try again.";
    return;
  }
  if (!response.ok) {
    $("status").textContent = `Cannot edit ${name}: ${await explain(response, "lock")}`;
    await poll();
    return;
  }
  const lock = await response.json();
  const current = await fetch(`/config/${name}`, { cache: "no-store" });
  if (!current.ok) {
    await release({ name, token: lock.token });
    $("status").textContent = `Cannot edit ${name}: ${await explain(current, "read")}`;
    return;
  }
  const now = Date.now();
  state.editing = {
    name,
    token: lock.token,
    etag: current.headers.get("ETag"),
    timeout: lock.timeoutSeconds,
    lastRefresh: now,
    lastActivity: now,
    lost: false,
  };
  $("editor-title").textContent = `Editing ${name}`;
  $("editor-text").value = JSON.stringify(await current.json(), null, 2);
  say("");
  $("editor").hidden = false;
  $("editor-text").focus();
  await poll();
}

// The lock is refreshed while the person works; one who walks away lets it lapse, so
// that others are not locked out by an abandoned editor.
async function keepAlive() {
  const e = state.editing;
  if (!e || e.lost || e.timeout === null) return;
  const now = Date.now();
  if (now - e.lastRefresh < (e.timeout * 1000) / 2 || e.lastActivity <= e.lastRefresh) return;
  e.lastRefresh = now;
  try {
    const response = await fetch(`/config/${e.name}/lock`, {
      method: "POST",
      headers: { If: `(<${e.token}>)`, "Content-Type": "application/json" },
      body: JSON.stringify({ timeoutSeconds: LOCK_SECONDS }),
    });
    if (!response.ok) {
      e.lost = true;
      say(`Your lock on ${e.name} has ended: ${await explain(response, "refresh")}`);
    }
  } catch {
    // Tried again at the next tick.
    e.lastRefresh = 0;
  }
  render();
}

async function save() {
  const e = state.editing;
  if (!e) return;
  let value;
  try {
    value = JSON.parse($("editor-text").value);
  } catch (error) {
    say(`Not saved: this is not valid JSON (${error.message}). Fix it and save again.`);
    return;
  }
  let response;
  try {
    response = await fetch(`/config/${e.name}`, {
      method: "PUT",
      headers: {
        "Content-Type": "application/json",
        If: `(<${e.token}>)`,
        ...(e.etag ? { "If-Match": e.etag } : {}),
      },
      body: JSON.stringify(value),
    });
  } catch {
    say("Not saved: the device did not answer. Check the connection, then save again.");
    return;
  }
  if (!response.ok) {
    say(`Not saved: ${await explain(response, "save")}`);
    await poll();
    return;
  }
  await release(e);
  closeEditor();
  $("status").textContent = `Saved ${e.name}.`;
  await poll();
}

async function release(e, keepalive = false) {
  try {
    await fetch(`/config/${e.name}/lock`, {
      method: "DELETE",
      headers: { "Lock-Token": `<${e.token}>` },
      keepalive,
    });
  } catch {
    // The lock then ends by its timeout.
  }
}

async function cancel() {
  const e = state.editing;
  if (!e) return;
  if (!e.lost) await release(e);
  closeEditor();
  $("status").textContent = `Closed ${e.name} without saving.`;
  await poll();
}

function closeEditor() {
  const name = state.editing && state.editing.name;
  state.editing = null;
  $("editor").hidden = true;
  const item = name && document.querySelector(`li[data-name="${CSS.escape(name)}"] button.edit`);
  render();
  if (item) item.focus();
}

// --- refusals in words -----------------------------------------------------------------

async function explain(response, doing) {
  const p = await problemOf(response);
  const type = (p.type || "").split("/").pop();
  const retry = response.headers.get("Retry-After");
  switch (response.status) {
    case 423: {
      const who = holder(p.owner);
      const left = p.expiresInSeconds !== undefined ? `${duration(p.expiresInSeconds)} left` : "no time limit";
      return doing === "lock"
        ? `${who} is editing it (locked — ${left}). You can edit it as soon as the lock ends.`
        : `${who} holds the lock on it (${left}). Copy your changes; you can edit again once the lock ends.`;
    }
    case 412:
      if (type === "etag-mismatch")
        return "someone changed this section after you opened it. Copy your changes, press Cancel, then Edit again to start from the current settings.";
      return "your lock has expired, so others may have edited this section since. Copy your changes, press Cancel, then Edit again.";
    case 409:
      return `the device refused the change as it stands (${p.detail || "conflict"}).`;
    case 413:
      return `the settings are too large or nested too deeply for this device. ${p.detail || ""}`.trim();
    case 507:
      return `the device's settings storage is full. ${p.detail || ""}`.trim();
    case 422:
      return "a section must be a JSON object, such as {\"key\": \"value\"}.";
    case 400:
      return `the device did not understand the request (${p.detail || "bad request"}).`;
    case 401:
      return "you are not signed in any more. Reload the page to sign in.";
    case 403:
      return doing === "lock"
        ? "you hold as many locks as you may. Finish another edit first."
        : "that lock belongs to another user.";
    case 429:
      return `too many attempts; try again in ${duration(Number(retry) || 1)}.`;
    case 503:
      return retry
        ? `the device is busy (too many people are editing). Try again in ${duration(Number(retry))}.`
        : "the device is busy right now. Try again shortly.";
    default:
      return `the device answered ${response.status} ${p.title || response.statusText}.`;
  }
}

// --- start -----------------------------------------------------------------------------

function start() {
  const owner = $("owner");
  owner.value = localStorage.getItem(OWNER_KEY) || "";
  owner.addEventListener("input", () => localStorage.setItem(OWNER_KEY, owner.value.trim()));
  $("identity").addEventListener("submit", (event) => event.preventDefault());
  $("save").addEventListener("click", save);
  $("cancel").addEventListener("click", cancel);
  const active = () => {
    if (state.editing) state.editing.lastActivity = Date.now();
  };
  $("editor-text").addEventListener("input", active);
  $("editor-text").addEventListener("keydown", (event) => {
    active();
    if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      save();
    }
  });
  // Leaving the page releases the lock where the browser allows a last request.
  window.addEventListener("pagehide", () => {
    if (state.editing && !state.editing.lost) release(state.editing, true);
  });
  loadSession().then(poll);
  setInterval(poll, POLL_MS);
  setInterval(keepAlive, 500);
  // The countdowns move between polls.
  setInterval(render, 250);
}

start();
