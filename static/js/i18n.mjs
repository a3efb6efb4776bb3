// Texts the scripts show, looked up in the portal's message catalogue. Every visible string in
// static/js goes through t(), so that it is extracted and translated like the templates' texts.
// Placeholders are written {name} and filled from `values`.
export function t(msgid, values = {}) {
  return msgid.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
