// What the console shows around an admin's action: the "are you sure?" step in
// place, a button that is busy while its request runs, and a job's progress.
import { api, h, setError } from "./console.js";

/**
 * Run work with button disabled; its error (if any) goes to errorSlot, cleared first.
 * A disabled button loses the keyboard's focus: it gets it back when the work is done,
 * unless the work moved focus somewhere else meanwhile.
 */
export async function whileBusy(button, errorSlot, work) {
  setError(errorSlot, "");
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  try {
    await work();
  } catch (error) {
    setError(errorSlot, error.message);
  } finally {
    button.disabled = false;
    const lost = !document.activeElement || document.activeElement === document.body;
    if (hadFocus && lost && button.isConnected) button.focus();
  }
}

/**
 * Ask before a destructive action, in place: host shows the question, a danger
 * button (focused) and a keep button. onYes runs while its button is busy; its error
 * goes to errorSlot, or to a slot of the host's own. ids, when given, names the
 * parts `${ids}-question`, `${ids}-yes`, `${ids}-no`. Escape inside it is "keep"
 * (and so does not also close the dialog around it).
 */
export function confirmInPlace(host, { question, yes, no = "Keep", onYes, onNo, errorSlot, ids }) {
  const slot = errorSlot || h("p", { class: "error", role: "alert", hidden: true });
  const yesButton = h("button", { type: "button", class: "btn danger", id: ids && `${ids}-yes` }, yes);
  const noButton = h("button", { type: "button", class: "btn", id: ids && `${ids}-no`, onclick: onNo }, no);
  yesButton.addEventListener("click", () => whileBusy(yesButton, slot, onYes));
  host.replaceChildren(
    h("span", { id: ids && `${ids}-question` }, question), yesButton, " ", noButton, errorSlot ? "" : slot,
  );
  host.hidden = false;
  host.onkeydown = (event) => {
    if (event.key !== "Escape" || !onNo) return;
    event.preventDefault();
    event.stopPropagation();
    onNo();
  };
  yesButton.focus();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll /jobs/{id} until it finishes, calling onProgress with each state. */
export async function followJob(job, onProgress) {
  let current = job;
  onProgress(current);
  while (current.state === "queued" || current.state === "running") {
    await sleep(250);
    current = await api("GET", `/jobs/${encodeURIComponent(current.id)}`);
    onProgress(current);
  }
  return current;
}

/**
 * The progress box of a job (a .job element with a <progress> and a text after it).
 * show() for work the page counts itself, follow(job, describe, summarize) for a job
 * the server runs: describe(job) is the text while it runs, summarize(job) (if given)
 * the text when it has ended; then the box carries data-state, and the job's errors
 * go to errorSlot.
 */
export function jobProgress(box, errorSlot) {
  const bar = box.querySelector("progress");
  const text = box.querySelector("progress ~ span");
  const progress = {
    open() {
      box.hidden = false;
    },
    show(done, total, message) {
      box.hidden = false;
      bar.max = Math.max(total, 1);
      bar.value = done;
      text.textContent = message;
    },
    async follow(job, describe, summarize) {
      box.hidden = false;
      const done = await followJob(job, (j) => progress.show(j.done, j.total, describe(j)));
      if (summarize) text.textContent = summarize(done);
      box.dataset.state = done.state;
      if (done.errors) setError(errorSlot, (done.errorMessages || []).join("; "));
      return done;
    },
  };
  return progress;
}
