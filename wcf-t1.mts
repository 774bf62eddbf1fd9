import { compileVirtual } from "/work/wt/w-config/test/helpers/compile-ts.js";
import { formatDiagnostic } from "/work/wt/w-config/src/compiler/index.js";
const src = process.argv[2]!;
const r = compileVirtual(src);
console.log(r.object ? "OK" : r.diagnostics.map(formatDiagnostic).join("\n"));
