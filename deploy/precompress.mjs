// Each browser bundle precompressed, next to it: name.gz (gzip, level 9) and name.br (brotli, best
// quality), built with Node's own zlib so that `make bundle` needs nothing more than npm. Both are
// the same bytes on every run (gzip's header carries no time or name), so a reproducible bundle
// stays reproducible. nginx serves them with gzip_static (deploy/nginx/portal.conf), Flask with
// app/web/static_files.py; the SRI hash is the uncompressed bundle's, which is what browsers check.
// name.sha256 says which bundle the copies were made from: the portal serves no copy of another
// one (and `meldpunt check` says so). Each file is written beside and renamed, never half-written.
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

function put(path, data) {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

for (const path of process.argv.slice(2)) {
  const data = readFileSync(path);
  put(`${path}.gz`, gzipSync(data, { level: 9 }));
  put(
    `${path}.br`,
    brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    }),
  );
  put(`${path}.sha256`, `${createHash("sha256").update(data).digest("hex")}\n`);
}
