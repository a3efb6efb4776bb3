// Resumable uploads of envelopes in parts. Only one part is held in memory at a time, and kept
// until the server has it: a dropped connection resends that part, never the whole file.
import { concat } from "./format.mjs";
import { t } from "./i18n.mjs";

const RETRIES = 12;
const LONGEST_WAIT_SECONDS = 15;

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException("cancelled", "AbortError"));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("cancelled", "AbortError"));
    });
  });
}

function json(text) {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

// One part goes up with XMLHttpRequest rather than fetch: only XMLHttpRequest reports how much of
// a request body has been sent, and over Tor one 4 MiB part can take a minute. A network failure
// rejects with a TypeError, as fetch would; cancelling rejects with an AbortError.
function put(url, body, headers, signal, onSent) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException("cancelled", "AbortError"));
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => onSent(event.loaded));
    request.addEventListener("load", () =>
      resolve({ ok: request.status >= 200 && request.status < 300, status: request.status, answer: json(request.responseText) }),
    );
    request.addEventListener("error", () => reject(new TypeError("connection lost")));
    request.addEventListener("timeout", () => reject(new TypeError("connection lost")));
    request.addEventListener("abort", () => reject(new DOMException("cancelled", "AbortError")));
    signal?.addEventListener("abort", () => request.abort(), { once: true });
    request.send(body);
  });
}

export class UploadError extends Error {}

export class Uploader {
  // `base`: where this page's uploads go (the reporter's or the team's endpoints).
  // `onProgress(bytes)`: a part of that many bytes is stored. `onSending(bytes)`: that much of the
  // part in flight has left the browser. `onRetry(seconds)`: the connection dropped and the next
  // try is that many seconds away (called each second; 0 when it tries again).
  // `reporterKey`: a new report's own public key (hex), made in the browser; the server keeps it
  // with the upload session so the report's uploads and its mailbox agree on one key.
  constructor({ csrfToken, purpose, base, report, reporterKey, signal, onProgress, onSending, onRetry }) {
    this.csrfToken = csrfToken;
    this.reporterKey = reporterKey;
    this.base = base;
    this.purpose = purpose;
    this.report = report;
    this.signal = signal;
    this.onProgress = onProgress || (() => {});
    this.onSending = onSending || (() => {});
    this.onRetry = onRetry || (() => {});
  }

  async request(method, url, body, headers = {}) {
    return fetch(url, {
      method,
      body,
      headers: { "X-CSRFToken": this.csrfToken, ...headers },
      credentials: "same-origin",
      signal: this.signal,
    });
  }

  async start(size) {
    const form = new URLSearchParams({ purpose: this.purpose, size: String(size) });
    if (this.report) form.set("report", this.report);
    if (this.reporterKey) form.set("reporter_key", this.reporterKey);
    if (this.proof) form.set("pow", this.proof);
    if (this.challenge) form.set("pow_challenge", this.challenge);
    const response = await this.request("POST", this.base, form);
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new UploadError(answer.message || t("The upload was refused ({status}).", { status: response.status }));
    return answer;
  }

  // Upload an envelope produced piece by piece by `pieces` (an async iterable of Uint8Array).
  async upload(size, pieces) {
    const { id, part_size: partSize } = await this.start(size);
    let part = [];
    let filled = 0;
    let number = 0;
    for await (const piece of pieces) {
      let offset = 0;
      while (offset < piece.length) {
        const take = Math.min(partSize - filled, piece.length - offset);
        part.push(piece.subarray(offset, offset + take));
        filled += take;
        offset += take;
        if (filled === partSize) {
          await this.sendPart(id, number++, concat(part));
          part = [];
          filled = 0;
        }
      }
    }
    if (filled > 0) await this.sendPart(id, number, concat(part));
    return id;
  }

  async sendPart(id, number, bytes) {
    const headers = { "X-CSRFToken": this.csrfToken, "Content-Type": "application/octet-stream" };
    const sent = (loaded) => this.onSending(Math.min(loaded, bytes.length));
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      try {
        const { ok, status, answer } = await put(`${this.base}/${id}/${number}`, bytes, headers, this.signal, sent);
        if (ok || (status === 409 && answer.received > number)) {
          // (A 409 saying it has more than this part: stored before, and our earlier answer was lost.)
          this.onProgress(bytes.length);
          return;
        }
        if (status < 500 && status !== 409) throw new UploadError(answer.message || t("The upload was refused ({status}).", { status }));
      } catch (error) {
        if (error instanceof UploadError || error.name === "AbortError") throw error;
        // A network error: the connection dropped (common over Tor). Wait, ask, then resend.
      }
      this.onSending(0);
      await this.countDown(Math.min(2 ** attempt, LONGEST_WAIT_SECONDS));
      if (await this.stored(id, number)) {
        this.onProgress(bytes.length);
        return;
      }
    }
    throw new UploadError(t("The connection keeps dropping. Try again later."));
  }

  async countDown(seconds) {
    for (let left = seconds; left > 0; left--) {
      this.onRetry(left);
      await sleep(1000, this.signal);
    }
    this.onRetry(0);
  }

  async stored(id, number) {
    try {
      const response = await this.request("GET", `${this.base}/${id}`);
      return response.ok && (await response.json()).received > number;
    } catch {
      return false;
    }
  }
}
