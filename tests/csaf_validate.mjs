// Validates CSAF 2.0 documents with BSI's csaf-validator-lib (node_modules, package.json's
// devDependency): the strict OASIS JSON schema test and every mandatory test. Used by
// tests/test_advisory_cli.py and docs/team-guide.md. Reads one document, or a JSON array of them, on
// stdin (one node start for all: loading the library takes seconds), prints a JSON array with one
// result per document, and exits 1 unless every document is valid:
// {"isValid": bool, "tests": count, "failures": [{"test": name, "path": instancePath, "message": text}]}.
import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js'
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js'
import { csaf_2_0_strict } from '@secvisogram/csaf-validator-lib/schemaTests.js'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const documents = Array.isArray(input) ? input : [input]
const results = []
for (const document of documents) {
  const result = await validateStrict([csaf_2_0_strict, ...Object.values(mandatory)], document)
  const failures = result.tests.flatMap((test) =>
    test.errors.map((error) => ({ test: test.name, path: error.instancePath, message: error.message })),
  )
  results.push({ isValid: result.isValid, tests: result.tests.length, failures })
}
process.stdout.write(JSON.stringify(results) + '\n')
process.exitCode = results.every((result) => result.isValid) ? 0 : 1
