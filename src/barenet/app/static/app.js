// barenet drawing mode: strokes on a canvas; a small copy goes to /api/predict while drawing
// and the moment the pen lifts.
"use strict";

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const small = document.createElement("canvas"); // what is sent: the canvas at 2/5 of its size
small.width = small.height = 112;
const smallCtx = small.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const message = document.getElementById("message");
const results = document.getElementById("results");
const modelsBox = document.getElementById("models");
const insideBox = document.getElementById("inside");
const insideToggle = document.getElementById("show-inside");
const BRUSH = 20; // in canvas pixels (280 wide): about the stroke width of an MNIST digit
const strokes = []; // each stroke: a list of [x, y] points, kept so that undo can redraw
let current = null;
let timer = null;
let sent = 0; // numbers requests, so that a slow, stale answer never replaces a newer one
let classes = [...Array(10).keys()].map(String);

function paint() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = BRUSH;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of strokes) {
    if (stroke.length === 1) { // a dot
      ctx.beginPath();
      ctx.arc(stroke[0][0], stroke[0][1], BRUSH / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(...stroke[0]);
    for (const p of stroke.slice(1)) ctx.lineTo(...p);
    ctx.stroke();
  }
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

canvas.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  current = [point(event)];
  strokes.push(current);
  paint();
  schedule();
});
canvas.addEventListener("pointermove", (event) => {
  if (!current) return;
  current.push(point(event));
  paint();
  schedule();
});
for (const name of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(name, () => {
    if (!current) return;
    current = null;
    schedule(0);
  });
}

function undo() { strokes.pop(); paint(); schedule(0); }
function clear() { strokes.length = 0; paint(); schedule(0); }
document.getElementById("undo").addEventListener("click", undo);
document.getElementById("clear").addEventListener("click", clear);
document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLButtonElement && (event.key === "Enter" || event.key === " ")) return;
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") { event.preventDefault(); undo(); }
  else if (event.key === "u" || event.key === "U") undo();
  else if (event.key === "c" || event.key === "C" || event.key === "Escape" || event.key === "Delete") clear();
});

function schedule(delay = 120) { // while drawing: one request per pause; pen up: at once
  clearTimeout(timer);
  if (delay === 0) predict();
  else timer = setTimeout(predict, delay);
}
insideToggle.addEventListener("change", () => schedule(0));

async function predict() {
  const id = ++sent;
  const finished = strokes.length - (current ? 1 : 0); // strokes whose pen has lifted
  if (strokes.length === 0) { show(null, "Draw a digit first.", finished); return; }
  smallCtx.fillStyle = "#fff";
  smallCtx.fillRect(0, 0, small.width, small.height);
  smallCtx.imageSmoothingQuality = "high";
  smallCtx.drawImage(canvas, 0, 0, small.width, small.height);
  const body = JSON.stringify({image: small.toDataURL("image/png")}); // synchronous, < 1 ms
  let answer;
  try {
    const url = "/api/predict" + (insideToggle.checked ? "?inside=true" : "");
    const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body});
    answer = await response.json();
    if (!response.ok) { if (id === sent) show(null, answer.detail || "Something went wrong.", finished); return; }
  } catch (error) {
    if (id === sent) show(null, "The server does not answer: is `barenet draw` still running?", finished);
    return;
  }
  if (id === sent) show(answer, "", finished);
}

function show(answer, text, finished) {
  message.textContent = text;
  modelsBox.replaceChildren();
  insideBox.replaceChildren();
  seen.fillStyle = "#000";
  seen.fillRect(0, 0, 28, 28);
  results.dataset.strokes = finished; // the finished strokes the shown guess has seen
  if (!answer) return;
  for (const model of answer.models) modelsBox.append(card(model, answer.models.length > 1));
  seen.putImageData(grey(answer.input.flat().map((v) => Math.round(v * 255)), 28, 28), 0, 0);
  for (const view of answer.inside) insideBox.append(layerView(view));
}

function grey(values, width, height) { // an ImageData of grey levels 0..255
  const image = new ImageData(width, height);
  values.forEach((g, i) => image.data.set([g, g, g, 255], 4 * i));
  return image;
}

function layerView(view) { // feature maps as small images, or the units as one strip
  const bytes = Uint8Array.from(atob(view.data), (c) => c.charCodeAt(0));
  const box = document.createElement("figure");
  box.className = "layer";
  const caption = document.createElement("figcaption");
  caption.className = "muted small";
  const maps = view.shape.length === 3;
  const [count, height, width] = maps ? view.shape : [1, 1, view.shape[0]];
  caption.textContent = maps ? `${view.layer}: ${count} feature maps, ${height}×${width}`
                             : `${view.layer}: ${width} units`;
  const grid = document.createElement("div");
  grid.className = maps ? "maps" : "strip";
  for (let k = 0; k < count; k++) {
    const map = document.createElement("canvas");
    map.width = width;
    map.height = height;
    map.getContext("2d").putImageData(grey(bytes.subarray(k * width * height, (k + 1) * width * height), width, height), 0, 0);
    grid.append(map);
  }
  box.append(caption, grid);
  return box;
}

function card(model, named) {
  const box = document.createElement("div");
  box.className = "model";
  if (named) {
    const title = document.createElement("h2");
    title.textContent = model.name;
    box.append(title);
  }
  const guess = document.createElement("div");
  guess.className = "guess";
  guess.textContent = model.label;
  guess.setAttribute("aria-label", `guess: ${model.label}`);
  guess.dataset.digit = model.digit;
  const bars = document.createElement("div");
  bars.className = "bars";
  model.probabilities.forEach((p, k) => {
    const label = document.createElement("span");
    label.textContent = classes[k] ?? k;
    const bar = document.createElement("div");
    bar.className = "bar" + (k === model.digit ? " best" : "");
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", (100 * p).toFixed(1));
    bar.setAttribute("aria-label", `${classes[k] ?? k}: ${(100 * p).toFixed(1)} percent`);
    const fill = document.createElement("span");
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.append(fill);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = `${(100 * p).toFixed(1)}%`;
    bars.append(label, bar, pct);
  });
  box.append(guess, bars);
  return box;
}

fetch("/api/model").then((r) => r.json()).then((models) => {
  classes = models[0].classes;
  const parts = models.map((m) => `${m.name}, ${m.parameters.toLocaleString("en")} parameters` +
    (m.test_accuracy != null ? `, ${(100 * m.test_accuracy).toFixed(2)}% on the ` +
      `${m.dataset === "fashion-mnist" ? "Fashion-MNIST" : "MNIST"} test set` : ""));
  document.getElementById("model-line").textContent =
    (models.length > 1 ? "Models: " : "Model: ") + parts.join(" · ");
}).catch(() => {});

paint();
show(null, "Draw a digit first.");
