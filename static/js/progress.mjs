// How far a sending has come: a bar, the bytes sent of the total and the time left, in the page's
// language. It moves within a part as the browser reports the bytes leaving it, not only when a
// part is stored. Sizes count in 1024s with the units the pages use (app/web/i18n.py `size`):
// the form's limit says "1 GiB", so the progress must not say "1.1 GB" of the same bytes.
import { t } from "./i18n.mjs";

const ESTIMATE_AFTER_MS = 2000; // earlier the rate is mostly noise

function language() {
  return document.documentElement.lang || undefined;
}

export function formatBytes(bytes, lang = language()) {
  const scaled = [
    [1024 ** 3, () => t("{number} GiB")],
    [1024 ** 2, () => t("{number} MiB")],
    [1024, () => t("{number} KiB")],
  ];
  for (const [scale, unit] of scaled) {
    if (bytes >= scale) {
      const number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(bytes / scale);
      return unit().replace("{number}", number);
    }
  }
  return new Intl.NumberFormat(lang, { style: "unit", unit: "byte", unitDisplay: "long" }).format(bytes);
}

export function formatDuration(seconds, lang = language()) {
  const [value, unit] = seconds < 60 ? [Math.max(1, Math.ceil(seconds)), "second"]
    : seconds < 5400 ? [Math.ceil(seconds / 60), "minute"] : [Math.ceil(seconds / 3600), "hour"];
  return new Intl.NumberFormat(lang, { style: "unit", unit, unitDisplay: "long" }).format(value);
}

export class Progress {
  constructor(box, total) {
    this.box = box;
    this.total = Math.max(total, 1);
    this.stored = 0; // in parts the server confirmed
    this.inFlight = 0; // of the part being sent
    this.firstByteAt = null;
    this.bar = box.querySelector("progress");
    this.text = box.querySelector("[data-progress-text]");
    this.percent = new Intl.NumberFormat(language(), { style: "percent" });
    box.hidden = false;
  }

  confirm(bytes) {
    this.stored += bytes;
    this.inFlight = 0;
    this.show();
  }

  sending(bytes) {
    this.inFlight = bytes;
    this.show();
  }

  show() {
    const now = performance.now();
    const sent = Math.min(this.total, this.stored + this.inFlight);
    if (sent > 0 && this.firstByteAt === null) this.firstByteAt = now;
    const share = sent / this.total;
    const percent = Math.min(100, Math.floor(share * 100));
    this.bar.max = 100;
    this.bar.value = share * 100;
    const values = { percent: this.percent.format(percent / 100), sent: formatBytes(sent), total: formatBytes(this.total) };
    const elapsed = this.firstByteAt === null ? 0 : now - this.firstByteAt;
    if (elapsed > ESTIMATE_AFTER_MS && sent < this.total) {
      const left = ((this.total - sent) / sent) * (elapsed / 1000);
      this.text.textContent = t("{percent} · {sent} of {total} · about {time} left", { ...values, time: formatDuration(left) });
    } else {
      this.text.textContent = t("{percent} · {sent} of {total}", values);
    }
    this.box.dataset.percent = String(percent);
    globalThis.Meldpunt.progress = percent; // outlives the page swap after sending, for the tests
  }
}
