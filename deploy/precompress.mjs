// The browser bundle precompressed, next to it: name.gz (gzip, level 9) and name.br (brotli, best
// quality), built with Node's own zlib so that `make bundle` needs nothing more than npm. Both are
// the same bytes on every run (gzip's header carries no time or name), so a reproducible bundle
// stays reproducible. nginx serves them with gzip_static (deploy/nginx/portal.conf), Flask with
// app/web/static_files.py; the SRI hash is the uncompressed bundle's, which is what browsers check.
import { readFileSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

for (const path of process.argv.slice(2)) {
  const data = readFileSync(path);
  writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
  writeFileSync(
    `${path}.br`,
    brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    }),
  );
}
