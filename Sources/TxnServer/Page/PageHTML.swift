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

"""# + "\n" + methodColumns + "\n" + #"""
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

    /// The method columns of the page (Gatys, the spatial GAN, the texture network), each in the one frame below.
    private static let methodColumns = [
        methodColumn("gatys", title: "Gatys et al. 2015", hidden: false, fields: [
            #"<label for="gatys-size">Size (px)</label><input id="gatys-size" name="size" type="number">"#,
            #"<label for="gatys-steps">Steps</label><input id="gatys-steps" name="steps" type="number">"#,
            #"<label for="gatys-seed">Seed</label><input id="gatys-seed" name="seed" type="number" min="0">"#,
            #"<label for="gatys-optimizer">Optimiser</label>"#,
            #"<select id="gatys-optimizer" name="optimizer"></select>"#,
            #"<label for="gatys-layers">Layers</label><input id="gatys-layers" name="layers" type="text">"#,
            #"<label for="gatys-tile">Tileable</label><input id="gatys-tile" name="tile" type="checkbox">"#,
        ], start: "Start", generateAgain: nil,
        imageAlt: "the Gatys result, updating live", curveLabel: "loss curve (log scale)"),
        methodColumn("gan", title: "Spatial GAN", hidden: true, fields: [
            #"<label for="gan-preset">Preset</label><select id="gan-preset" name="preset"></select>"#,
            #"<label for="gan-steps">Iterations</label><input id="gan-steps" name="steps" type="number">"#,
            #"<label for="gan-size">Generate size (px)</label><input id="gan-size" name="size" type="number">"#,
            #"<label for="gan-seed">Seed</label><input id="gan-seed" name="seed" type="number" min="0">"#,
            #"<label for="gan-tile">Tileable</label><input id="gan-tile" name="tile" type="checkbox">"#,
            #"<label for="gan-periodic" title="PSGAN's periodic noise channels: wave vectors learnt from a global code, for regular textures">Periodic noise</label><input id="gan-periodic" name="periodic" type="checkbox">"#,
        ], start: "Train", generateAgain: "A new texture at this size, seed and tiling from the last trained generator, without training",
        imageAlt: "GAN samples from a fixed noise, updating live", curveLabel: "discriminator and generator losses"),
        methodColumn("texnet", title: "Texture network", hidden: true, fields: [
            #"<label for="texnet-preset">Preset</label><select id="texnet-preset" name="preset"></select>"#,
            #"<label for="texnet-loss" title="The texture loss the network is trained with: optimize's Gram matrices, sliced Wasserstein, or both">Loss</label><select id="texnet-loss" name="loss"></select>"#,
            #"<label for="texnet-steps">Iterations</label><input id="texnet-steps" name="steps" type="number">"#,
            #"<label for="texnet-size">Generate size (px)</label><input id="texnet-size" name="size" type="number">"#,
            #"<label for="texnet-seed">Seed</label><input id="texnet-seed" name="seed" type="number" min="0">"#,
            #"<label for="texnet-tile">Tileable</label><input id="texnet-tile" name="tile" type="checkbox">"#,
        ], start: "Train", generateAgain: "A new texture at this size, seed and tiling from the last trained network, without training",
        imageAlt: "texture network samples from a fixed noise, updating live", curveLabel: "texture loss (log scale)"),
    ].joined(separator: "\n\n")

    /// A method's column, the same frame for every method: its form of parameters (`fields`, one line each), its
    /// buttons (`start`, Stop, and for a method with a generator "Generate again", `generateAgain` its title), its
    /// status line, the live image and the curve. The page's script finds each part by the ids made from `id`.
    private static func methodColumn(_ id: String, title: String, hidden: Bool, fields: [String], start: String,
                                     generateAgain: String?, imageAlt: String, curveLabel: String) -> String {
        var lines = [
            #"  <section class="column" id="col-\#(id)" aria-labelledby="h-\#(id)"\#(hidden ? " hidden" : "")>"#,
            #"    <h2 id="h-\#(id)">\#(title)</h2>"#,
            #"    <form id="\#(id)-form" class="params">"#,
        ]
        lines += fields.map { "      " + $0 }
        lines += [
            #"    </form>"#,
            #"    <div class="buttons">"#,
            #"      <button id="\#(id)-start" type="button">\#(start)</button>"#,
            #"      <button id="\#(id)-stop" type="button" disabled>Stop</button>"#,
        ]
        if let generateAgain {
            lines.append(#"      <button id="\#(id)-generate" type="button" disabled title="\#(generateAgain)">Generate again</button>"#)
        }
        lines += [
            #"    </div>"#,
            #"    <p id="\#(id)-status" class="status" role="status">idle</p>"#,
            #"    <figure><img id="\#(id)-image" alt="\#(imageAlt)"><figcaption id="\#(id)-caption"></figcaption></figure>"#,
            #"    <canvas id="\#(id)-curve" width="360" height="150" aria-label="\#(curveLabel)" data-points="0"></canvas>"#,
            #"  </section>"#,
        ]
        return lines.joined(separator: "\n")
    }

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
