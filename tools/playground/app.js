// The playground page: draws the firmware's framebuffer, streams the logs (Server-Sent Events
// from tools/playground.py), presses the device's buttons and injects faults.
"use strict";

const MAX_BOX = [640, 480];   // the screen is enlarged by the largest whole factor that fits
const MAX_LINES = 600;
const $ = (id) => document.getElementById(id);
let info = { displays: {}, tenant: false, faults: [] };
let state = {};
let faultTimer = null;

function post(path, body) {
  return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                       body: JSON.stringify(body || {}) });
}

// ---- the screen: the frame's raw pixels, as boards/unix.py exported them ----------------------

function factorFor(w, h) {
  return Math.max(1, Math.min(Math.floor(MAX_BOX[0] / w), Math.floor(MAX_BOX[1] / h)));
}

function drawFrame(frame) {
  const w = frame.w, h = frame.h;
  const bytes = Uint8Array.from(atob(frame.data), (c) => c.charCodeAt(0));
  const native = document.createElement("canvas");
  native.width = w;
  native.height = h;
  const nctx = native.getContext("2d");
  const img = nctx.createImageData(w, h);
  const px = img.data;
  const stride = (w + 7) >> 3;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      let r, g, b;
      if (frame.depth === 1) {   // MONO_HLSB: most significant bit first; 1 is paper (light)
        const v = (bytes[y * stride + (x >> 3)] >> (7 - (x & 7))) & 1 ? 255 : 0;
        r = g = b = v;
      } else {                   // RGB565, little-endian
        const i = (y * w + x) * 2;
        const v = bytes[i] | (bytes[i + 1] << 8);
        r = Math.round(((v >> 11) & 31) * 255 / 31);
        g = Math.round(((v >> 5) & 63) * 255 / 63);
        b = Math.round((v & 31) * 255 / 31);
      }
      px[o] = r; px[o + 1] = g; px[o + 2] = b; px[o + 3] = 255;
    }
  }
  nctx.putImageData(img, 0, 0);
  const f = factorFor(w, h);
  const canvas = $("device-screen");
  if (canvas.width !== w * f || canvas.height !== h * f) {
    canvas.width = w * f;
    canvas.height = h * f;
  }
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(native, 0, 0, w * f, h * f);
  canvas.dataset.native = w + "x" + h;
  canvas.dataset.factor = String(f);
  canvas.dataset.frames = String(Number(canvas.dataset.frames || 0) + 1);
  $("zoom").textContent = w + " \u00d7 " + h + " pixels, shown \u00d7" + f;
}

// ---- state, logs ---------------------------------------------------------------------------------

function applyState(s) {
  state = s;
  if (s.display && $("display-class").value !== s.display) $("display-class").value = s.display;
  $("device-status").textContent = s.screen || "-";
  $("user-code").textContent = s.user_code || "";
  $("code-line").hidden = !s.user_code;
  $("device-stopped").hidden = s.device_running !== false;
  $("follow-qr").disabled = !s.user_link;
  if (info.tenant) {
    const a = $("tenant-link");
    if (s.user_link) { a.href = s.user_link; a.textContent = s.user_link; }
  }
  if (s.server_log) $("server-log-kind").textContent = s.server_log;
  showFault();
}

function showFault() {
  clearTimeout(faultTimer);
  const el = $("fault-status");
  if (info.tenant) { el.textContent = "A real tenant: no faults to inject."; return; }
  if (!state.fault) { el.textContent = "No fault."; return; }
  const left = Math.max(0, Math.round(state.fault_until - Date.now() / 1000));
  el.textContent = (state.fault === "outage" ? "Outage" : "TLS impostor") + ": " + left + " s left.";
  faultTimer = setTimeout(showFault, 1000);
}

function addLogs(entries) {
  const panes = { device: $("device-log"), server: $("server-log"), playground: $("device-log") };
  const touched = new Set();
  for (const e of entries) {
    const pre = panes[e.src] || $("device-log");
    const line = document.createElement("div");
    const t = new Date(e.t * 1000).toTimeString().slice(0, 8);
    line.textContent = t + "  " + e.text;
    if (e.src === "playground") line.className = "pg";
    else if (/^event=error|-> (4|5)\d\d|dropped/.test(e.text)) line.className = "err";
    pre.appendChild(line);
    touched.add(pre);
  }
  for (const pre of touched) {
    while (pre.childNodes.length > MAX_LINES) pre.removeChild(pre.firstChild);
    pre.scrollTop = pre.scrollHeight;
  }
}

function connect() {
  const es = new EventSource("/events");
  es.addEventListener("state", (m) => applyState(JSON.parse(m.data)));
  es.addEventListener("frame", (m) => drawFrame(JSON.parse(m.data)));
  es.addEventListener("log", (m) => addLogs(JSON.parse(m.data)));
}

// ---- controls ------------------------------------------------------------------------------------

function setUp() {
  const menu = $("display-class");
  for (const name of Object.keys(info.displays).sort()) {
    const [w, h, depth] = info.displays[name];
    const opt = document.createElement("option");
    opt.value = name;
    opt.textContent = name + " (" + w + "\u00d7" + h + (depth === 1 ? ", mono" : ", colour") + ")";
    menu.appendChild(opt);
  }
  menu.addEventListener("change", () => post("/api/display", { name: menu.value }));
  for (const b of document.querySelectorAll("[data-button]")) {
    b.addEventListener("click", () => post("/api/button", { name: b.dataset.button }));
  }
  $("btn-reboot").addEventListener("click", () => post("/api/reboot"));
  for (const b of document.querySelectorAll("[data-fault]")) {
    b.addEventListener("click", () => post("/api/fault", { kind: b.dataset.fault,
                                                           seconds: Number($("fault-seconds").value) }));
  }
  $("follow-qr").addEventListener("click", () => {
    if (state.user_link) $("user-frame").src = state.user_link;
  });
  if (!info.tenant) $("user-frame").src = "/activate";
  if (info.tenant) {
    // A real tenant's page cannot be framed: the user's side is a link to it.
    $("mode").textContent = "the real firmware on the MicroPython Unix port, against your tenant";
    $("faults").hidden = true;
    $("follow-qr").hidden = true;
    $("user-tab").hidden = true;
    const frame = $("user-frame");
    const p = document.createElement("p");
    p.innerHTML = "Open your tenant's verification page: <a id=\"tenant-link\" target=\"_blank\" " +
                  "rel=\"noopener\">(waiting for the device's code)</a>";
    frame.replaceWith(p);
    $("user-hint").textContent = "Sign in with your tenant, in a new tab.";
    $("server-log-kind").textContent = "your tenant";
    $("server-log").textContent = "A real tenant: its own log is in its dashboard " +
                                  "(Auth0: Monitoring > Logs).";
  }
}

fetch("/api/info").then((r) => r.json()).then((i) => { info = i; setUp(); connect(); });
