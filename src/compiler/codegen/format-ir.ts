// A readable text dump of IR functions for fixtures and debugging, one instruction per line,
// e.g. `v3 = add64 v1, 5` and `br.32 v3 ne 0 ? b1 : b2`.

import type { IrFunction, IrInstruction, IrTerminator, Operand } from "../ir.js";

function op(o: Operand): string {
  return "imm" in o ? String(o.imm) : `v${o.reg}`;
}

function mem(base: number, offset: number): string {
  return `[v${base}${offset < 0 ? ` - ${-offset}` : ` + ${offset}`}]`;
}

/** One IR instruction as text. */
export function formatIrInstruction(i: IrInstruction): string {
  switch (i.op) {
    case "mov": return `v${i.dst} = ${op(i.src)}`;
    case "alu": return `v${i.dst} = ${i.alu}${i.bits} ${op(i.a)}, ${op(i.b)}`;
    case "neg": return `v${i.dst} = neg${i.bits} v${i.src}`;
    case "bswap": return `v${i.dst} = bswap${i.bits} v${i.src}`;
    case "ext": return `v${i.dst} = ${i.signed ? "sext" : "zext"}${i.from} v${i.src}`;
    case "load":
      return `v${i.dst} = load.${i.signed ? "s" : "u"}${i.size * 8} ${mem(i.base, i.offset)}${i.core ? ` core(${i.core.kind} ${i.core.access})` : ""}${i.nonNull ? " nonnull" : ""}`;
    case "store": return `store.u${i.size * 8} ${mem(i.base, i.offset)}, ${op(i.value)}${i.core ? ` core(${i.core.kind} ${i.core.access})` : ""}`;
    case "stackAddr": return `v${i.dst} = &slot${i.slot}${i.offset ? ` + ${i.offset}` : ""}`;
    case "mapFd": return `v${i.dst} = map ${i.map}`;
    case "mapValue": return `v${i.dst} = &${i.map}${i.offset ? ` + ${i.offset}` : ""}`;
    case "funcAddr": return `v${i.dst} = &fn ${i.fn}`;
    case "call": return `${i.dst !== undefined ? `v${i.dst} = ` : ""}call #${i.helper}(${i.args.map(op).join(", ")})`;
    case "callFn": return `${i.dst !== undefined ? `v${i.dst} = ` : ""}call ${i.fn}(${i.args.map(op).join(", ")})`;
    case "callKfunc": return `${i.dst !== undefined ? `v${i.dst} = ` : ""}call kfunc ${i.kfunc}(${i.args.map(op).join(", ")})`;
    case "coreValue": return `v${i.dst} = core(${i.core.kind} ${i.core.access})`;
    case "atomic":
      return `${i.fetch !== undefined ? `v${i.fetch} = ` : ""}atomic.${i.rmw}${i.size * 8} ${mem(i.base, i.offset)}, v${i.value}`;
  }
}

/** A terminator as text. */
export function formatIrTerminator(t: IrTerminator): string {
  switch (t.op) {
    case "br": return `br.${t.bits} v${t.a} ${t.cond} ${op(t.b)} ? b${t.then} : b${t.else}`;
    case "jmp": return `jmp b${t.target}`;
    case "ret": return `ret ${op(t.value)}`;
  }
}

/** The whole function: header with parameters and slots, then labelled blocks. */
export function formatIr(fn: IrFunction): string {
  const lines: string[] = [];
  lines.push(`fn ${fn.name}(${fn.params.map((p) => `v${p}`).join(", ")})`);
  for (const s of fn.slots) lines.push(`  slot${s.id}: ${s.size} bytes, align ${s.align}${s.name ? ` ; ${s.name}` : ""}`);
  for (const b of fn.blocks) {
    lines.push(`b${b.id}:`);
    for (const i of b.instructions) lines.push(`  ${formatIrInstruction(i)}`);
    lines.push(`  ${formatIrTerminator(b.terminator)}`);
  }
  return lines.join("\n") + "\n";
}
