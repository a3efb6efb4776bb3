// The entry of static/vendor/meldpunt-derive.js: everything main.mjs does, plus the reporter's
// identity (identity.mjs: the word list, and argon2id from libsodium's sumo build, which the build
// puts in the place of the standard one). Loaded only on the report form and the sign-in page.
import * as identity from "./identity.mjs";
import { start } from "./start.mjs";

start(identity);
