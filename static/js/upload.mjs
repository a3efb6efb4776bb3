// Resumable uploads of envelopes in parts. Only one part is held in memory at a time, and kept
// until the server has it: a dropped connection resends that part, never the whole file.
import { concat } from "./envelope.mjs";

const RETRIES = 12;

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("cancelled", "AbortError"));
    });
  });
}

export class UploadError extends Error {}

export class Uploader {
  // `base`: where this page's uploads go (the reporter's or the team's endpoints).
  constructor({ csrfToken, purpose, base, report, signal, onProgress }) {
    this.csrfToken = csrfToken;
    this.base = base;
    this.purpose = purpose;
    this.report = report;
    this.signal = signal;
    this.onProgress = onProgress || (() => {});
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
    if (this.proof) form.set("pow", this.proof);
    if (this.challenge) form.set("pow_challenge", this.challenge);
    const response = await this.request("POST", this.base, form);
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new UploadError(answer.message || `upload refused (${response.status})`);
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
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      try {
        const response = await this.request("PUT", `${this.base}/${id}/${number}`, bytes, {
          "Content-Type": "application/octet-stream",
        });
        if (response.ok) {
          this.onProgress(bytes.length);
          return;
        }
        const answer = await response.json().catch(() => ({}));
        if (response.status === 409 && answer.received > number) {
          this.onProgress(bytes.length);
          return; // stored before; our earlier answer was lost
        }
        if (response.status < 500 && response.status !== 409) throw new UploadError(answer.message || "refused");
      } catch (error) {
        if (error instanceof UploadError || error.name === "AbortError") throw error;
        // A network error: the connection dropped (common over Tor). Wait, ask, then resend.
      }
      await sleep(Math.min(500 * 2 ** attempt, 15000), this.signal);
      if (await this.stored(id, number)) {
        this.onProgress(bytes.length);
        return;
      }
    }
    throw new UploadError("The connection keeps dropping. Try again later.");
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
