extension Page {
    static let script = #"""
"use strict";
// txn serve: the page. Live updates come as server-sent events (never polled); a reloaded page
// reattaches to the running jobs through GET /api/jobs and the `state` event each stream starts with.

const $ = (id) => document.getElementById(id);

// Each method's column: how to read its form, which curves it draws, what it downloads.
const METHODS = {
  gatys: {
    title: "Gatys",
    series: [["loss", "#2457c5"]],
    params() {
      return {
        size: Number($("gatys-size").value), steps: Number($("gatys-steps").value),
        seed: Number($("gatys-seed").value), optimizer: $("gatys-optimizer").value,
        layers: $("gatys-layers").value, tile: $("gatys-tile").checked,
      };
    },
    describe(p) {
      const eta = p.eta >= 60 ? `${Math.floor(p.eta / 60)}m${Math.round(p.eta % 60)}s` : `${Math.round(p.eta)} s`;
      return `iteration ${p.iteration}/${p.total} · loss ${fmt(p.loss)} · ${p.secondsPerIteration.toFixed(2)} s/it · ${eta} left`;
    },
    downloads: [],
  },
  gan: {
    title: "Spatial GAN",
    series: [["dLoss", "#b03a2e"], ["gLoss", "#1e8449"]],
    params() {
      return {
        preset: $("gan-preset").value, steps: Number($("gan-steps").value),
        size: Number($("gan-size").value), seed: Number($("gan-seed").value), tile: $("gan-tile").checked, periodic: $("gan-periodic").checked,
      };
    },
    describe(p) {
      return `iteration ${p.iteration}/${p.total} · D ${fmt(p.dLoss)} · G ${fmt(p.gLoss)} · D(real) ${fmt(p.dReal)} · ` +
        `D(fake) ${fmt(p.dFake)} · ${Number(p.secondsPerIteration).toFixed(2)} s/it · ${Math.round(p.eta)} s left`;
    },
    downloads: [["generator .pth", "files/generator"]],
    regenerates: true,
  },
  texnet: {
    title: "Texture network",
    series: [["loss", "#7d3c98"]],
    params() {
      return {
        preset: $("texnet-preset").value, loss: $("texnet-loss").value, steps: Number($("texnet-steps").value),
        size: Number($("texnet-size").value), seed: Number($("texnet-seed").value), tile: $("texnet-tile").checked,
      };
    },
    describe(p) {
      return `iteration ${p.iteration}/${p.total} · loss ${fmt(p.loss)} · ${Number(p.secondsPerIteration).toFixed(2)} s/it · ${Math.round(p.eta)} s left`;
    },
    downloads: [["network .pth", "files/generator"]],
    regenerates: true,
  },
};

// `generators`: for each method that regenerates, the job whose trained network "Generate again" uses.
const state = { methods: [], source: null, sources: [], jobs: {}, streams: {}, generators: {} };

function fmt(v) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e4 || a < 1e-3) ? v.toExponential(3) : v.toPrecision(4);
}

async function api(path, options = {}) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
  const type = response.headers.get("content-type") || "";
  const body = type.startsWith("application/json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function setStatus(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// MARK: sources

async function loadSources(select) {
  const { sources } = await api("/api/sources");
  state.sources = sources;
  const menu = $("source-select");
  menu.replaceChildren(...sources.map((s) => {
    const o = document.createElement("option");
    o.value = s.id;
    o.textContent = `${s.name} (${s.width}×${s.height})`;
    return o;
  }));
  const wanted = select || (state.source && state.source.id) || (sources[0] && sources[0].id);
  if (wanted) menu.value = wanted;
  showSource();
}

function showSource() {
  const s = state.sources.find((x) => x.id === $("source-select").value);
  state.source = s || null;
  $("source-delete").disabled = !s || s.kind !== "upload";
  if (!s) return;
  $("source-image").src = `/api/sources/${encodeURIComponent(s.id)}/image`;
  $("source-caption").textContent = `${s.name}: ${s.width}×${s.height} ${s.format.toUpperCase()}`;
}

async function upload(file) {
  setStatus("upload-status", `uploading ${file.name}…`);
  try {
    const entry = await api("/api/sources", { method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file });
    setStatus("upload-status", `uploaded: ${entry.width}×${entry.height}`);
    await loadSources(entry.id);
  } catch (e) {
    setStatus("upload-status", `upload refused: ${e.message}`, true);
  }
}

// Uploads and finished jobs can be deleted (the server also removes the oldest past its storage quota).
async function deleteSource() {
  const s = state.source;
  if (!s || s.kind !== "upload") return;
  try {
    await api(`/api/sources/${encodeURIComponent(s.id)}`, { method: "DELETE" });
    setStatus("upload-status", `deleted ${s.name}`);
    state.source = null;
    await loadSources();
  } catch (e) {
    setStatus("upload-status", `not deleted: ${e.message}`, true);
  }
}

async function deleteJob(method, id) {
  try {
    await api(`/api/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
    if (state.streams[method]) { state.streams[method].close(); delete state.streams[method]; }
    delete state.jobs[method];
    setStatus(`${method}-status`, `job ${id} deleted`);
    render();
  } catch (e) {
    setStatus(`${method}-status`, e.message, true);
  }
}

// MARK: jobs

async function start(method, extra = {}) {
  if (!state.source) return setStatus(`${method}-status`, "pick a source first", true);
  const body = Object.assign({ method, source: state.source.id }, METHODS[method].params(), extra);
  try {
    const job = await api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    watch(method, job.id);
  } catch (e) {
    setStatus(`${method}-status`, e.message, true);
  }
}

async function stop(method) {
  const job = state.jobs[method];
  if (!job) return;
  try { await api(`/api/jobs/${job.id}/stop`, { method: "POST" }); } catch (e) { setStatus(`${method}-status`, e.message, true); }
}

// Follows one job's event stream; every tab watching the same job sees the same events.
function watch(method, id) {
  if (state.streams[method]) state.streams[method].close();
  const job = { id, method, series: {}, status: "queued", result: null, parameters: {} };
  state.jobs[method] = job;
  const es = new EventSource(`/api/jobs/${id}/events`);
  state.streams[method] = es;
  const on = (name, f) => es.addEventListener(name, (e) => f(JSON.parse(e.data)));
  on("state", (s) => {
    Object.assign(job, { status: s.status, series: s.series || {}, parameters: s.parameters || {}, result: s.result || null });
    showParameters(method, job.parameters);
    if (s.status === "queued") setStatus(`${method}-status`, `queued: position ${s.position}`);
    else if (s.progress) setStatus(`${method}-status`, METHODS[method].describe(s.progress));
    else setStatus(`${method}-status`, s.status === "running" ? "starting…" : s.status);
    if (s.imageVersion > 0) showImage(method, id, s.imageVersion);
    drawCurve(method);
    render();
  });
  on("queued", (d) => setStatus(`${method}-status`, `queued: position ${d.position}`));
  on("started", () => { job.status = "running"; setStatus(`${method}-status`, "starting…"); render(); });
  on("progress", (p) => {
    for (const [name] of METHODS[method].series) {
      if (p[name] !== undefined) (job.series[name] = job.series[name] || []).push(p[name]);
    }
    setStatus(`${method}-status`, METHODS[method].describe(p));
    drawCurve(method);
  });
  on("image", (d) => showImage(method, id, d.version, d.caption));
  for (const end of ["done", "stopped", "error"]) {
    on(end, (r) => {
      es.close();
      job.status = end;
      job.result = r;
      if (end === "error") setStatus(`${method}-status`, `error: ${r.error}`, true);
      else setStatus(`${method}-status`, `${end}: ` + (r.loss !== undefined ? `loss ${fmt(r.loss)} ` : "") +
        (r.iterations ? `after ${r.iterations} iterations` : `generated ${r.width}×${r.height}`) + (r.seconds ? ` in ${r.seconds.toFixed(1)} s` : ""));
      render();
    });
  }
  es.onerror = () => { if (es.readyState === EventSource.CLOSED) setStatus(`${method}-status`, "connection lost", true); };
  render();
}

function showImage(method, id, version, caption) {
  const img = $(`${method}-image`);
  img.src = `/api/jobs/${id}/image?v=${version}`;
  img.dataset.version = String(version);
  if (caption) $(`${method}-caption`).textContent = caption;
  const tiled = $(`tiled-${method}`);
  if (tiled) tiled.style.backgroundImage = `url("${img.src}")`;
}

// The forms start from the server's defaults (GET /api/defaults): the choices of the menus, the values, the ranges.
function showDefaults(defaults, limits) {
  const labels = { lbfgs: "L-BFGS", adam: "Adam", small: "small (minutes)", seed: "seed (the seed project's)", paper: "paper (slow)",
                   gram: "Gram", sw: "sliced Wasserstein", "gram+sw": "Gram + SW" };
  const menu = (id, words) => { $(id).replaceChildren(...words.map((w) => Object.assign(document.createElement("option"), { value: w, textContent: labels[w] || w }))); };
  if (defaults.gatys) {
    menu("gatys-optimizer", defaults.gatys.optimizers);
    $("gatys-size").min = defaults.gatys.sizeRange[0];
    $("gatys-size").max = Math.min(defaults.gatys.sizeRange[1], Math.floor(Math.sqrt(limits.jobWork)));
    $("gatys-steps").min = 1;
    $("gatys-steps").max = limits.steps;
    showParameters("gatys", defaults.gatys);
  }
  if (defaults.gan) {
    menu("gan-preset", defaults.gan.presets);
    $("gan-steps").min = 1;
    $("gan-steps").max = limits.steps;
    $("gan-size").max = Math.floor(Math.sqrt(limits.jobWork));
    showParameters("gan", defaults.gan);
  }
  if (defaults.texnet) {
    menu("texnet-preset", defaults.texnet.presets);
    menu("texnet-loss", defaults.texnet.losses);
    $("texnet-steps").min = 1;
    $("texnet-steps").max = limits.steps;
    $("texnet-size").max = Math.floor(Math.sqrt(limits.jobWork));
    showParameters("texnet", defaults.texnet);
  }
}

// The form shows what the watched job runs with (after a reload too).
function showParameters(method, p) {
  if (p.width !== undefined) p = Object.assign({ size: p.width }, p);
  if (Array.isArray(p.layers)) p = Object.assign({}, p, { layers: p.layers.join(",") });
  for (const [key, value] of Object.entries(p)) {
    const input = $(`${method}-${key}`);
    if (!input || input.tagName === "CANVAS" || input.tagName === "IMG") continue;
    if (input.type === "checkbox") input.checked = !!value; else input.value = String(value);
  }
  if (p.source && state.sources.some((s) => s.id === p.source)) { $("source-select").value = p.source; showSource(); }
}

// The curves on a log scale, all series of a method in one plot.
function drawCurve(method) {
  const canvas = $(`${method}-curve`);
  const job = state.jobs[method];
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 28;
  ctx.clearRect(0, 0, W, H);
  const all = METHODS[method].series.map(([name, colour]) => [((job && job.series[name]) || []).filter((v) => v > 0 && isFinite(v)), colour]);
  const values = all.flatMap(([v]) => v);
  canvas.dataset.points = String(Math.max(0, ...all.map(([v]) => v.length)));
  if (values.length === 0) return;
  const lo = Math.log10(Math.min(...values)), hi = Math.log10(Math.max(...values));
  const span = hi - lo || 1, n = Math.max(2, ...all.map(([v]) => v.length));
  ctx.strokeStyle = "#d5d9e0";
  ctx.strokeRect(pad, 4, W - pad - 4, H - pad);
  ctx.fillStyle = "#5b6270";
  ctx.font = "10px sans-serif";
  ctx.fillText(fmt(Math.pow(10, hi)), 2, 12);
  ctx.fillText(fmt(Math.pow(10, lo)), 2, H - pad);
  ctx.fillText(`iteration ${n}`, W - 70, H - 8);
  for (const [series, colour] of all) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    series.forEach((v, i) => {
      const x = pad + (W - pad - 4) * (series.length === 1 ? 0 : i / (n - 1));
      const y = 4 + (H - pad) * (1 - (Math.log10(v) - lo) / span);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

// The comparison table and the notebooks: one row per method that has a job.
function render() {
  const rows = [], books = [];
  for (const method of state.methods) {
    const job = state.jobs[method];
    $(`${method}-start`).disabled = !!job && (job.status === "queued" || job.status === "running");
    $(`${method}-stop`).disabled = !job || !(job.status === "queued" || job.status === "running");
    if (METHODS[method].regenerates) {
      // The generator of the last finished training job (a job that only generated reuses its `from`).
      const trained = job && job.status === "done" ? (job.parameters.from || job.id) : null;
      state.generators[method] = trained;
      $(`${method}-generate`).disabled = !trained;
    }
    if (!job) continue;
    const tr = document.createElement("tr");
    const d = job.result && job.result.distance;
    const cell = (text) => { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; };
    cell(`${METHODS[method].title} (job ${job.id})`);
    cell(job.status);
    cell(d ? fmt(d.gramLoss) : "–");
    cell(d ? fmt(d.sliced) : "–");
    const tiled = document.createElement("div");
    tiled.className = "tiled";
    tiled.id = `tiled-${method}`;
    tiled.setAttribute("role", "img");
    tiled.setAttribute("aria-label", "2×2 tiled preview");
    const version = $(`${method}-image`).dataset.version;
    if (version) tiled.style.backgroundImage = `url("/api/jobs/${job.id}/image?v=${version}")`;
    cell("").appendChild(tiled);
    const links = cell("");
    const link = (text, href, name) => {
      const a = document.createElement("a");
      a.href = href; a.textContent = text; if (name) a.download = name;
      links.appendChild(a); links.appendChild(document.createTextNode(" "));
    };
    if (version) link("PNG", `/api/jobs/${job.id}/image`, `job-${job.id}.png`);
    link("notebook", `/api/jobs/${job.id}/notebook`, `job-${job.id}.txn`);
    const files = (job.result && job.result.files) || [];
    for (const [text, path] of METHODS[method].downloads) if (files.includes(path.split("/").pop())) link(text, `/api/jobs/${job.id}/${path}`);
    if (job.status !== "queued" && job.status !== "running") {
      const remove = document.createElement("button");
      remove.type = "button"; remove.textContent = "delete"; remove.id = `delete-${method}`;
      remove.addEventListener("click", () => deleteJob(method, job.id));
      links.appendChild(remove);
    }
    rows.push(tr);
    books.push(job);
  }
  $("compare-rows").replaceChildren(...rows);
  Promise.all(books.map((job) => api(`/api/jobs/${job.id}/notebook`).catch(() => ""))).then((texts) => {
    $("notebooks").replaceChildren(...texts.map((text, i) => {
      const pre = document.createElement("pre");
      pre.id = `notebook-${books[i].method}`;
      pre.textContent = text;
      return pre;
    }));
  });
}

async function init() {
  try {
    const caps = await api("/api/capabilities");
    state.methods = caps.methods.filter((m) => METHODS[m]);
    $("col-gan").hidden = !state.methods.includes("gan");
    $("col-texnet").hidden = !state.methods.includes("texnet");
    setStatus("server-status", `${caps.threads} threads · jobs up to ${caps.limits.jobWork} pixels · one job at a time`);
    showDefaults(await api("/api/defaults"), caps.limits);
    await loadSources();
    // Reattach: the newest job of each method, running or not.
    const { jobs } = await api("/api/jobs");
    for (const method of state.methods) {
      const latest = jobs.filter((j) => j.method === method).pop();
      if (latest) watch(method, latest.id);
    }
  } catch (e) {
    setStatus("server-status", `cannot reach the server: ${e.message}`, true);
  }
  $("source-select").addEventListener("change", showSource);
  $("source-delete").addEventListener("click", deleteSource);
  $("source-upload").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
  for (const method of Object.keys(METHODS)) {
    $(`${method}-start`).addEventListener("click", () => start(method));
    $(`${method}-stop`).addEventListener("click", () => stop(method));
  }
  for (const method of Object.keys(METHODS).filter((m) => METHODS[m].regenerates)) {
    $(`${method}-generate`).addEventListener("click", () => { if (state.generators[method]) start(method, { from: state.generators[method] }); });
  }
  render();
  // `?source=ID&start=gatys&size=32&steps=5` fills the form and starts a job (links, demos, the browser test).
  const q = new URLSearchParams(location.search);
  if (q.get("source") && state.sources.some((s) => s.id === q.get("source"))) { $("source-select").value = q.get("source"); showSource(); }
  const method = q.get("start");
  if (method && state.methods.includes(method)) {
    for (const [key, value] of q) {
      const input = $(`${method}-${key}`);
      if (input && input.type === "checkbox") input.checked = value === "true";
      else if (input) input.value = value;
    }
    start(method);
  }
}

init();
"""#
}
