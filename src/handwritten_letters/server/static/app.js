"use strict";
// Drawing board: pointer events (mouse, touch, pen), undo, clear, live answers, upload.

const canvas = document.getElementById("canvas");
const context = canvas.getContext("2d");
const penWidth = document.getElementById("pen-width");
const statusLine = document.getElementById("status");
const labelView = document.getElementById("label");
const confidenceView = document.getElementById("confidence");
const topkView = document.getElementById("topk");
const preprocessedView = document.getElementById("preprocessed");
const drop = document.getElementById("drop");
const fileInput = document.getElementById("file");
const feedbackView = document.getElementById("feedback");
const rightButton = document.getElementById("right");
const correctLabel = document.getElementById("correct-label");
const feedbackStatus = document.getElementById("feedback-status");
const teachView = document.getElementById("teach");
const teachLetterView = document.getElementById("teach-letter");
const teachStatus = document.getElementById("teach-status");
const teachCorrect = document.getElementById("teach-correct");
const teachLabel = document.getElementById("teach-label");
const profileLine = document.getElementById("profile-line");
const profileCount = document.getElementById("profile-count");

const strokes = [];
let current = null;
let backgroundImage = null;
let pending = null;
let requestNumber = 0;
let collectingFeedback = false;
let lastImage = null; // the image exactly as it was sent, as a data URL
let lastResult = null;
let inkClock = null; // performance.now() at the first point of the drawing: ink times count from it

function mode() {
  return document.querySelector("input[name=mode]:checked").value;
}

function canvasPoint(event) {
  const box = canvas.getBoundingClientRect();
  if (inkClock === null) inkClock = performance.now();
  // x, y in the canvas's pixels; t in ms since the drawing began (the ink the reader gets)
  return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height,
          Math.round(performance.now() - inkClock)];
}

function redraw() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  if (backgroundImage) {
    const scale = Math.min(canvas.width / backgroundImage.width, canvas.height / backgroundImage.height);
    const w = backgroundImage.width * scale, h = backgroundImage.height * scale;
    context.drawImage(backgroundImage, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
  }
  context.strokeStyle = "#000";
  context.lineCap = "round";
  context.lineJoin = "round";
  for (const stroke of strokes) {
    context.lineWidth = stroke.width;
    context.beginPath();
    stroke.points.forEach(([x, y], i) => (i ? context.lineTo(x, y) : context.moveTo(x, y)));
    if (stroke.points.length === 1) context.lineTo(stroke.points[0][0] + 0.1, stroke.points[0][1]);
    context.stroke();
  }
}

canvas.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  // the same pen in image pixels in every mode: the word canvas is wider, not a bigger drawing of a letter
  current = { width: Number(penWidth.value), points: [canvasPoint(event)] };
  strokes.push(current);
  redraw();
});
canvas.addEventListener("pointermove", (event) => {
  if (!current) return;
  current.points.push(canvasPoint(event));
  redraw();
  schedule(400);
});
function endStroke() {
  if (!current) return;
  current = null;
  schedule(150);
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

function schedule(delay) {
  clearTimeout(pending);
  pending = setTimeout(recognizeCanvas, delay);
}

// An answer that arrives after the board was emptied belongs to a drawing that is gone.
function boardEmptied() {
  clearTimeout(pending);
  requestNumber++;
  showEmpty("Draw a letter to start.");
}

function clearBoard() {
  strokes.length = 0;
  inkClock = null;
  backgroundImage = null;
  redraw();
  boardEmptied();
}

document.getElementById("clear").addEventListener("click", clearBoard);
document.getElementById("undo").addEventListener("click", undo);
function undo() {
  if (strokes.length) strokes.pop();
  else backgroundImage = null;
  redraw();
  if (strokes.length || backgroundImage) schedule(0);
  else boardEmptied();
}
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z") { event.preventDefault(); undo(); }
});
for (const radio of document.querySelectorAll("input[name=mode]")) {
  radio.addEventListener("change", () => {
    canvas.width = mode() === "word" ? 640 : 320;
    canvas.classList.toggle("wide", mode() === "word");
    document.querySelector("main").classList.toggle("word-mode", mode() === "word");
    document.querySelector(".seen").classList.toggle("hidden", mode() !== "letter");
    canvas.setAttribute("aria-label", mode() === "word"
      ? "Drawing area: write one word" : "Drawing area: draw one letter with a mouse, finger or pen");
    clearBoard();
    if (mode() === "word") statusLine.textContent = "Write a word.";
    teachView.classList.toggle("hidden", mode() !== "teach");
    // teaching saves the drawing without reading it: no answer to make room for
    document.querySelector(".verdict").classList.toggle("hidden", mode() === "teach");
    topkView.classList.toggle("hidden", mode() === "teach");
    if (mode() === "teach") showTeachPrompt();
  });
}

function showEmpty(message) {
  statusLine.textContent = message;
  teachCorrect.classList.add("hidden");
  feedbackView.classList.add("hidden");
  labelView.textContent = "\u00a0";
  labelView.classList.remove("rejected");
  confidenceView.textContent = "";
  topkView.replaceChildren();
  preprocessedView.removeAttribute("src");
}

async function post(url, options) {
  const number = ++requestNumber;
  statusLine.textContent = "Reading\u2026";
  let response, body;
  try {
    response = await fetch(url, { method: "POST", ...options });
    body = await response.json();
  } catch (error) {
    if (number === requestNumber) statusLine.textContent = "Could not reach the server.";
    return;
  }
  if (number !== requestNumber) return; // a newer drawing is already on its way
  if (!response.ok) {
    if (body.error === "no_such_profile") { forgetProfileLocally(); recognizeCanvas(); return; }
    showEmpty(body.detail || body.error || `Error ${response.status}`);
    return;
  }
  if (mode() === "word") showWord(body);
  else showLetter(body.results ? body.results[0] : body);
}

function lettersUrl() {
  const profile = profileId();
  return profile ? `/api/v1/letters?profile=${encodeURIComponent(profile)}` : "/api/v1/letters";
}

function recognizeCanvas() {
  if (!strokes.length && !backgroundImage) return;
  if (mode() === "teach") return; // teaching: the drawing is saved, not read
  const image = canvas.toDataURL("image/png");
  lastImage = image;
  if (mode() === "word" && !backgroundImage) {
    // a word drawn here is read from its strokes, in the order they were written: where letters
    // touch or overlap, the picture has lost where one ends and the next begins
    const ink = { strokes: strokes.map((stroke) => stroke.points), width: canvas.width, height: canvas.height };
    post(inkUrl(), { headers: { "Content-Type": "application/json" }, body: JSON.stringify(ink) });
    return;
  }
  const url = mode() === "word" ? "/api/v1/words" : lettersUrl();
  post(url, { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ image, top_k: 5 }) });
}

function inkUrl() {
  const profile = profileId();
  return "/api/v1/ink?top_k=5" + (profile ? `&profile=${encodeURIComponent(profile)}` : "");
}

function showLetter(result) {
  preprocessedView.src = result.preprocessed;
  lastResult = result;
  feedbackView.classList.toggle("hidden", !collectingFeedback);
  rightButton.disabled = !result.label;
  correctLabel.value = "";
  feedbackStatus.textContent = "";
  topkView.replaceChildren(...result.top_k.map(({ label, probability }, rank) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    // the best candidate as it is answered ("A" for a capital), so the bar and the answer agree
    name.textContent = rank === 0 && result.text && result.text.toLowerCase() === label ? result.text : label;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", String(Math.round(probability * 100)));
    bar.setAttribute("aria-label", `${label}: ${Math.round(probability * 100)} percent`);
    const fill = document.createElement("span");
    fill.style.width = `${(probability * 100).toFixed(1)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.textContent = `${Math.round(probability * 100)}%`;
    item.append(name, bar, value);
    return item;
  }));
  labelView.classList.remove("rejected", "unsure");
  if (result.verdict === "not_sure") {
    const candidates = result.top_k.filter((k) => k.probability >= 0.1 * result.top_k[0].probability).slice(0, 3);
    labelView.textContent = candidates.map((k) => k.label).join(" or ") + "?";
    labelView.classList.add("unsure");
    confidenceView.textContent = "Not sure";
    statusLine.textContent = "Not sure which letter this is: " + result.reason.replace(/^not sure: /, "");
  } else if (result.rejected) {
    const several = result.verdict === "several_letters";
    labelView.textContent = several ? "Several letters" : "Not a letter";
    labelView.classList.add("rejected");
    confidenceView.textContent = "";
    // the verdict is the big line; the reason says why, once
    const why = (result.reason || "").replace(/^(not a letter|several letters[^:]*): /, "");
    statusLine.textContent = several ? "Read it in word mode (\u201cA word\u201d above): " + why
      : why.charAt(0).toUpperCase() + why.slice(1) + (/[.?!)]$/.test(why) ? "" : ".");
  } else {
    labelView.textContent = result.text || result.label;  // "A" for a capital
    labelView.classList.remove("rejected", "word");
    confidenceView.textContent = `${Math.round(result.confidence * 100)}% sure`;
    statusLine.textContent = `Read as \u201c${result.text || result.label}\u201d` + caseNote(result)
      + (result.profile_letters ? `, with your writing (${letters(result.profile_letters)})` : "") + ".";
  }
  teachCorrect.classList.toggle("hidden", mode() !== "letter");
  teachLabel.value = "";
}

function showWord(result) {
  labelView.classList.remove("rejected");
  labelView.classList.add("word");
  labelView.textContent = result.written || result.text || "\u00a0";
  const words = result.lines.flatMap((line) => line.words);
  const sure = words.length ? words.reduce((p, w) => p * w.confidence, 1) : 0;
  confidenceView.textContent = words.length ? `${Math.round(sure * 100)}% sure` : "";
  topkView.replaceChildren(...words.flatMap((word) => word.letters).map((letter) => {
    const item = document.createElement("li");
    item.className = "letter-chip";
    const shown = letter.case === "upper" ? letter.label.toUpperCase() : letter.label;
    const others = letter.top_k.slice(1, 3).map((k) => k.label).join(", ");
    item.textContent = `${shown} ${Math.round(letter.confidence * 100)}%`;
    item.title = others ? `then ${others}` : "";
    return item;
  }));
  preprocessedView.removeAttribute("src");
  redraw();
  context.strokeStyle = "#2f6fde";
  context.lineWidth = 2;
  for (const letter of backgroundImage ? [] : words.flatMap((word) => word.letters)) {
    const [left, top, right, bottom] = letter.box;
    context.strokeRect(left, top, right - left, bottom - top);
  }
  if (!result.text) statusLine.textContent = result.reason || "No word found.";
  else if (result.raw_text !== result.text) statusLine.textContent = `Read as \u201c${result.written}\u201d (without the word list: \u201c${result.raw_text}\u201d).`;
  else statusLine.textContent = `Read as \u201c${result.written}\u201d.`;
}

function uploadFile(file) {
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    lastImage = reader.result;
    const image = new Image();
    image.onload = () => {
      strokes.length = 0; backgroundImage = image; redraw();
      if (mode() === "teach") teachStatus.textContent = "Uploaded: save it as this letter, or skip.";
    };
    image.src = reader.result;
  };
  reader.readAsDataURL(file);
  if (mode() === "teach") return; // teaching: the upload is saved as the asked letter, not read
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("top_k", "5");
  post(mode() === "word" ? "/api/v1/words" : lettersUrl(), { body: form });
}

fileInput.addEventListener("change", () => uploadFile(fileInput.files[0]));
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  uploadFile(event.dataTransfer.files[0]);
});
drop.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") { event.preventDefault(); fileInput.click(); }
});

function letters(count) { return `${count} letter${count === 1 ? "" : "s"}`; }

function caseNote(result) {
  if (result.case === "upper" || result.case === "lower") {
    return `, ${result.case} case ${Math.round(result.case_probability * 100)}%`;
  }
  return result.case === "either" ? ", either case (same shape)" : "";
}

async function sendFeedback(label) {
  if (!lastImage || !lastResult || !label) return;
  feedbackStatus.textContent = "Sending\u2026";
  try {
    const response = await fetch("/api/v1/feedback", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ image: lastImage, answer: lastResult.label, top_k: lastResult.top_k, correct_label: label }),
    });
    const body = await response.json();
    feedbackStatus.textContent = response.ok ? `Thanks: stored as \u201c${label}\u201d.` : (body.detail || "Not stored.");
  } catch (error) {
    feedbackStatus.textContent = "Could not reach the server.";
  }
}

for (const letter of "abcdefghijklmnopqrstuvwxyz") {
  const option = document.createElement("option");
  option.value = letter;
  option.textContent = letter;
  correctLabel.append(option);
}
rightButton.addEventListener("click", () => sendFeedback(lastResult && lastResult.label));
correctLabel.addEventListener("change", () => sendFeedback(correctLabel.value));
fetch("/api/v1/feedback").then((r) => r.json()).then((body) => { collectingFeedback = Boolean(body.collecting); })
  .catch(() => { collectingFeedback = false; });

// ----------------------------------------------------------------------------- your writing
// A profile on the server, known only by its unguessable id, kept in this browser.

const PROFILE_KEY = "handwritten-letters-profile";
const TEACH_ORDER = [..."abcdefghijklmnopqrstuvwxyz", ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"];
const TEACH_ROUNDS = 2;
let teachIndex = 0;

function profileId() { return localStorage.getItem(PROFILE_KEY); }
function forgetProfileLocally() { localStorage.removeItem(PROFILE_KEY); showProfile(null); }

function showProfile(info) {
  profileLine.classList.toggle("hidden", !info);
  if (info) profileCount.textContent = `Your writing: ${letters(info.letters)} taught.`;
}

async function ensureProfile() {
  if (profileId()) return profileId();
  const response = await fetch("/api/v1/profiles", { method: "POST" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || "no profile");
  localStorage.setItem(PROFILE_KEY, body.id);
  return body.id;
}

async function teachLetter(image, label) {
  const id = await ensureProfile();
  const response = await fetch(`/api/v1/profiles/${encodeURIComponent(id)}/letters`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ image, label }),
  });
  const body = await response.json();
  if (body.error === "no_such_profile") { forgetProfileLocally(); return teachLetter(image, label); }
  if (!response.ok) throw new Error(body.detail || "not kept");
  showProfile(body);
  return body;
}

function showTeachPrompt() {
  const label = TEACH_ORDER[teachIndex % TEACH_ORDER.length];
  teachLetterView.textContent = label;
  statusLine.textContent = `Draw \u201c${label}\u201d as you write it (round ${Math.floor(teachIndex / TEACH_ORDER.length) + 1} `
    + `of ${TEACH_ROUNDS}), then save.`;
}

function nextTeachLetter() {
  teachIndex = (teachIndex + 1) % (TEACH_ORDER.length * TEACH_ROUNDS);
  strokes.length = 0;
  backgroundImage = null;
  redraw();
  showTeachPrompt();
}

document.getElementById("teach-save").addEventListener("click", async () => {
  if (!strokes.length && !backgroundImage) { teachStatus.textContent = "Draw or upload the letter first."; return; }
  const label = TEACH_ORDER[teachIndex % TEACH_ORDER.length];
  try {
    const body = await teachLetter(canvas.toDataURL("image/png"), label);
    teachStatus.textContent = `Kept \u201c${label}\u201d (${body.letters} taught).`;
  } catch (error) {
    teachStatus.textContent = `Not kept: ${error.message}`;
  }
  nextTeachLetter();
});
document.getElementById("teach-skip").addEventListener("click", nextTeachLetter);

for (const letter of TEACH_ORDER) {
  const option = document.createElement("option");
  option.value = letter;
  option.textContent = letter;
  teachLabel.append(option);
}
teachLabel.addEventListener("change", async () => {
  const label = teachLabel.value;
  if (!label || !lastImage) return;
  try {
    await teachLetter(lastImage, label);
    statusLine.textContent = `Thanks: your writing now has this as \u201c${label}\u201d.`;
  } catch (error) {
    statusLine.textContent = `Not kept: ${error.message}`;
  }
});
document.getElementById("profile-forget").addEventListener("click", async () => {
  const id = profileId();
  if (id) await fetch(`/api/v1/profiles/${encodeURIComponent(id)}`, { method: "DELETE" }).catch(() => null);
  forgetProfileLocally();
});
if (profileId()) {
  fetch(`/api/v1/profiles/${encodeURIComponent(profileId())}`).then((r) => (r.ok ? r.json() : null))
    .then((info) => (info ? showProfile(info) : forgetProfileLocally())).catch(() => null);
}

redraw();
