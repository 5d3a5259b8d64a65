/// The page, its script and style: plain files compiled into the binary (no CDN, no build step).
enum Page {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>txn — texture synthesis, live</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>txn <span class="sub">texture synthesis, live</span></h1>
  <p id="server-status" role="status">connecting…</p>
</header>
<main class="columns" id="columns">
  <section class="column" id="col-source" aria-labelledby="h-source">
    <h2 id="h-source">Source</h2>
    <label for="source-select">Texture</label>
    <select id="source-select"></select>
    <div class="buttons"><button id="source-delete" type="button" disabled title="Remove this upload from the server">Delete upload</button></div>
    <label for="source-upload">Or upload a PNG or JPEG</label>
    <input type="file" id="source-upload" accept="image/png,image/jpeg">
    <p id="upload-status" class="note" role="status"></p>
    <figure>
      <img id="source-image" alt="the source texture">
      <figcaption id="source-caption"></figcaption>
    </figure>
  </section>

  <section class="column" id="col-gatys" aria-labelledby="h-gatys">
    <h2 id="h-gatys">Gatys et al. 2015</h2>
    <form id="gatys-form" class="params">
      <label for="gatys-size">Size (px)</label><input id="gatys-size" name="size" type="number">
      <label for="gatys-steps">Steps</label><input id="gatys-steps" name="steps" type="number">
      <label for="gatys-seed">Seed</label><input id="gatys-seed" name="seed" type="number" min="0">
      <label for="gatys-optimizer">Optimiser</label>
      <select id="gatys-optimizer" name="optimizer"></select>
      <label for="gatys-layers">Layers</label><input id="gatys-layers" name="layers" type="text">
      <label for="gatys-tile">Tileable</label><input id="gatys-tile" name="tile" type="checkbox">
    </form>
    <div class="buttons">
      <button id="gatys-start" type="button">Start</button>
      <button id="gatys-stop" type="button" disabled>Stop</button>
    </div>
    <p id="gatys-status" class="status" role="status">idle</p>
    <figure><img id="gatys-image" alt="the Gatys result, updating live"><figcaption id="gatys-caption"></figcaption></figure>
    <canvas id="gatys-curve" width="360" height="150" aria-label="loss curve (log scale)" data-points="0"></canvas>
  </section>

  <section class="column" id="col-gan" aria-labelledby="h-gan" hidden>
    <h2 id="h-gan">Spatial GAN</h2>
    <form id="gan-form" class="params">
      <label for="gan-preset">Preset</label><select id="gan-preset" name="preset"></select>
      <label for="gan-steps">Iterations</label><input id="gan-steps" name="steps" type="number">
      <label for="gan-size">Generate size (px)</label><input id="gan-size" name="size" type="number">
      <label for="gan-seed">Seed</label><input id="gan-seed" name="seed" type="number" min="0">
      <label for="gan-tile">Tileable</label><input id="gan-tile" name="tile" type="checkbox">
      <label for="gan-periodic" title="PSGAN's periodic noise channels: wave vectors learnt from a global code, for regular textures">Periodic noise</label><input id="gan-periodic" name="periodic" type="checkbox">
    </form>
    <div class="buttons">
      <button id="gan-start" type="button">Train</button>
      <button id="gan-stop" type="button" disabled>Stop</button>
      <button id="gan-generate" type="button" disabled title="A new texture at this size, seed and tiling from the last trained generator, without training">Generate again</button>
    </div>
    <p id="gan-status" class="status" role="status">idle</p>
    <figure><img id="gan-image" alt="GAN samples from a fixed noise, updating live"><figcaption id="gan-caption"></figcaption></figure>
    <canvas id="gan-curve" width="360" height="150" aria-label="discriminator and generator losses" data-points="0"></canvas>
  </section>

  <section class="column" id="col-texnet" aria-labelledby="h-texnet" hidden>
    <h2 id="h-texnet">Texture network</h2>
    <form id="texnet-form" class="params">
      <label for="texnet-preset">Preset</label><select id="texnet-preset" name="preset"></select>
      <label for="texnet-loss" title="The texture loss the network is trained with: optimize's Gram matrices, sliced Wasserstein, or both">Loss</label><select id="texnet-loss" name="loss"></select>
      <label for="texnet-steps">Iterations</label><input id="texnet-steps" name="steps" type="number">
      <label for="texnet-size">Generate size (px)</label><input id="texnet-size" name="size" type="number">
      <label for="texnet-seed">Seed</label><input id="texnet-seed" name="seed" type="number" min="0">
      <label for="texnet-tile">Tileable</label><input id="texnet-tile" name="tile" type="checkbox">
    </form>
    <div class="buttons">
      <button id="texnet-start" type="button">Train</button>
      <button id="texnet-stop" type="button" disabled>Stop</button>
      <button id="texnet-generate" type="button" disabled title="A new texture at this size, seed and tiling from the last trained network, without training">Generate again</button>
    </div>
    <p id="texnet-status" class="status" role="status">idle</p>
    <figure><img id="texnet-image" alt="texture network samples from a fixed noise, updating live"><figcaption id="texnet-caption"></figcaption></figure>
    <canvas id="texnet-curve" width="360" height="150" aria-label="texture loss (log scale)" data-points="0"></canvas>
  </section>
</main>

<section id="compare" aria-labelledby="h-compare">
  <h2 id="h-compare">Compared with the source</h2>
  <table>
    <thead><tr><th scope="col">Method</th><th scope="col">Status</th><th scope="col">Gram distance</th><th scope="col">Sliced Wasserstein</th><th scope="col">2×2 tiled</th><th scope="col">Downloads</th></tr></thead>
    <tbody id="compare-rows"></tbody>
  </table>
  <h3>The notebook of each run</h3>
  <p class="note">Every job is a <code>.txn</code> notebook; <code>txn job-N.txn</code> replays it to the same bytes.</p>
  <div id="notebooks"></div>
</section>
</body>
</html>
"""#

    static let style = #"""
:root { --fg: #1d1f23; --muted: #5b6270; --line: #d5d9e0; --accent: #2457c5; --bg: #fafbfc; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1.5em; padding: 0.6em 1.2em; border-bottom: 1px solid var(--line); background: #fff; }
h1 { font-size: 1.3em; margin: 0; }
h1 .sub { font-weight: normal; color: var(--muted); font-size: 0.8em; }
h2 { font-size: 1.1em; margin: 0 0 0.5em; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 1em; padding: 1em 1.2em; }
.column { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.9em; min-width: 0; }
label { display: block; font-size: 0.9em; color: var(--muted); margin-top: 0.4em; }
.params { display: grid; grid-template-columns: auto 1fr; gap: 0.3em 0.7em; align-items: center; }
.params label { margin: 0; }
input[type=number], input[type=text], select { width: 100%; padding: 0.25em 0.4em; font: inherit; }
input[type=checkbox] { justify-self: start; }
.buttons { margin: 0.7em 0; display: flex; gap: 0.5em; }
button { font: inherit; padding: 0.3em 1.1em; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button:disabled { background: #c9cfda; border-color: #c9cfda; cursor: default; }
figure { margin: 0.5em 0; }
figure img:not([src]) { display: none; }
figure img { max-width: 100%; image-rendering: auto; background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 16px 16px; min-height: 64px; display: block; }
figcaption, .note, .status { font-size: 0.88em; color: var(--muted); }
.status { font-variant-numeric: tabular-nums; min-height: 2.6em; }
canvas { width: 100%; max-width: 360px; border: 1px solid var(--line); background: #fff; }
#compare { padding: 0 1.2em 2em; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border: 1px solid var(--line); padding: 0.35em 0.6em; text-align: left; vertical-align: middle; font-variant-numeric: tabular-nums; }
.tiled { width: 128px; height: 128px; background-repeat: repeat; background-size: 50% 50%; border: 1px solid var(--line); }
pre { background: #fff; border: 1px solid var(--line); padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
a { color: var(--accent); }
.error { color: #b00020; }
"""#
}
