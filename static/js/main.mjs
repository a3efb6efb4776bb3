// The entry of static/vendor/meldpunt.js: sealing forms and the mailbox, with libsodium's standard
// build. The pages that derive a reporter's identity load meldpunt-derive.js instead.
import { start } from "./start.mjs";

start();
