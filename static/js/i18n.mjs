// Texts the scripts show, looked up in the portal's message catalogue. Every visible string in
// static/js goes through t(), so that `make messages` extracts it like the templates' texts
// (babel.cfg). The page that loads the bundle carries the translations of exactly these message
// ids, in its language, as JSON in the script element's data-texts attribute (app/web/i18n.py
// `script_texts`): no inline script, so the CSP stays as it is. Read once, while the bundle runs.
// Placeholders are written {name} and filled from `values`; a text without a translation is shown
// as written, in English.
const element = globalThis.document?.currentScript ?? globalThis.document?.querySelector("script[data-texts]");
const texts = JSON.parse(element?.dataset.texts || "{}");

export function t(msgid, values = {}) {
  const text = texts[msgid] || msgid;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
