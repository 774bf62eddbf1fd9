// Lowers one function body (a program's handler or a user function compiled as a subprogram; other user
// functions inlined, see subprograms.ts) from the TypeScript AST
// to IR: statements, expressions, conditions, places. Calls to intrinsics are in intrinsics.ts.

import ts from "typescript";
import type { SourceLocation } from "../../asm/instruction.js";
import { HELPER_IDS } from "../../sys/helper-ids.js";
import type { AnyLayout } from "../../types/index.js";
import { FunctionBuilder } from "../builder.js";
import { NOT_CONSTANT } from "../consteval.js";
import { DiagnosticCode as D, Diagnosed, lineText } from "../diagnostics.js";
import type { AluOp, BlockId, Cond, Operand, VReg } from "../ir.js";
import type { CType } from "../module.js";
import type { ContextField, ProgramKind, ReturnRule } from "../kinds/index.js";
import { PT_REGS_X86 } from "../kinds/kind.js";
import {
  arithmeticType, BIGLIT, BOOL, fits, I32, I64, intRange, LIT, literalType, promote, scalarOfLayout, showTy, U8, U32, U64, VOID, wrap,
  type IntTy, type Ty,
} from "../types.js";
import type { ModuleContext } from "./context.js";
import { argumentValue, lowerCall } from "./intrinsics.js";
import { lowerTaggedTemplate } from "./log.js";
import { KernelTypes, type KernelMember } from "./kernel.js";
import { copyKernelArray, kernelArray, kernelArrayElement, kernelBitfield } from "./kernel-data.js";
import { dataLocField, tracefsField } from "./tracefs.js";
import { imm, reg, type Local, type Place, type Value } from "./values.js";

interface InlineFrame {
  readonly decl: ts.FunctionDeclaration;
  readonly exit: BlockId;
  readonly result: VReg | undefined;
  readonly resultTy: Ty;
}

/** A counted run-time loop: its variable (a register local), the bound expression and whether `<=`. */
interface CountedLoop {
  readonly local: Extract<Local, { k: "reg" }>;
  readonly end: ts.Expression;
  readonly inclusive: boolean;
}

interface LoopFrame {
  readonly breakTo: BlockId;
  readonly continueTo: BlockId | undefined;
}

/** Lowers one program. */
export class Lowerer {
  readonly m: ModuleContext;
  readonly b: FunctionBuilder;
  readonly prog: ProgramKind;
  /** The program's attach targets (the declaration's leading string arguments). */
  readonly targets: readonly string[];
  readonly ctxReg: VReg;
  /** The handler's context parameter symbol. */
  readonly #scopes: Map<ts.Symbol, Local>[] = [new Map()];
  readonly #inline: InlineFrame[] = [];
  readonly #loops: LoopFrame[] = [];
  /** Open-coded iterators of the run-time loops being lowered (destroyed on every way out), with the inline depth they belong to. */
  readonly #iters: { readonly addr: VReg; readonly depth: number }[] = [];
  /**
   * Ring buffer records already submitted or discarded, and packet views made stale by a helper that
   * changed packet data (`packet`): a use after that is a verifier error. Per scope.
   */
  readonly #consumed: Map<ts.Symbol, { readonly at: ts.Node; readonly packet?: boolean }>[] = [new Map()];

  /** The return values the kernel accepts from this program, if it restricts them. */
  readonly #returns: ReturnRule | undefined;
  /** When lowering a bpf-to-bpf subprogram (not a program): its return type. */
  readonly #subResult: Ty | undefined;

  /**
   * A lowerer for a program's handler, or, with `sub`, for a user function compiled as a subprogram
   * of a program of kind `prog` (`sub.params` arguments in r1..r5, returning `sub.result`).
   */
  constructor(m: ModuleContext, prog: ProgramKind, targets: readonly string[], name: string, loc?: SourceLocation, sub?: { readonly params: number; readonly result: Ty }) {
    this.m = m;
    this.prog = prog;
    this.targets = targets;
    this.#returns = sub ? undefined : prog.returns?.(targets);
    this.#subResult = sub?.result;
    this.b = new FunctionBuilder(name, sub ? sub.params : 1, loc);
    this.ctxReg = this.b.params[0] ?? this.b.reg();
  }

  /**
   * Lowers a user function's body as a subprogram: parameter i (of type `params[i]`) arrives in
   * argument register i; `return` returns the value coerced to the declared type (0 for void).
   */
  lowerSubprogram(decl: ts.FunctionDeclaration, params: readonly Ty[]): void {
    decl.parameters.forEach((p, i) => {
      if (!ts.isIdentifier(p.name)) this.report(p, D.UnsupportedSyntax, "destructured parameters are not supported");
      const sym = this.checker.getSymbolAtLocation(p.name)!;
      const r = this.b.reg();
      this.b.mov(r, reg(this.b.params[i]!));
      this.#declare(sym, { k: "reg", reg: r, ty: params[i]!, mutable: params[i]!.k !== "ctx", name: p.name.text });
    });
    this.at(decl);
    this.block(decl.body!);
    if (!this.b.terminated) this.b.terminate({ op: "ret", value: imm(0) });
  }

  get checker(): ts.TypeChecker {
    return this.m.checker;
  }

  report(node: ts.Node, code: string, message: string): never {
    return this.m.report(node, code, message);
  }

  /** Sets the source location for instructions emitted for `node`. */
  at(node: ts.Node): void {
    const sf = node.getSourceFile();
    const pos = node.getStart(sf);
    const { line, character } = sf.getLineAndCharacterOfPosition(pos);
    this.b.loc = { file: sf.fileName, line: line + 1, column: character + 1, text: lineText(sf, line) };
  }

  // ------------------------------------------------------------------------------------------------
  // Entry.

  /**
   * Lowers the handler `(ctx) => { ... }`. With `args` (struct_ops handlers), the handler's parameters
   * are the kernel function's arguments instead: parameter i is the context's u64 slot i, as `args[i]`.
   * With `layout` (syscall programs), the context is that struct.
   */
  lowerHandler(fn: ts.ArrowFunction | ts.FunctionExpression, args?: readonly Ty[], layout?: AnyLayout): void {
    if (fn.asteriskToken || fn.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) this.report(fn, D.Async, "program handlers cannot be async or generators");
    if (args) {
      if (fn.parameters.length > args.length) this.report(fn.parameters[args.length]!, D.ProgramDeclaration, `this handler is called with ${args.length} argument${args.length === 1 ? "" : "s"}`);
      fn.parameters.forEach((p, i) => {
        if (!ts.isIdentifier(p.name)) this.report(p, D.UnsupportedSyntax, "destructuring a handler argument is not supported; name it");
        const v = argumentValue(this, this.ctxReg, i * 8, args[i]!, p);
        this.#scopes[0]!.set(this.checker.getSymbolAtLocation(p.name)!, { k: "reg", reg: this.b.toReg(v.op), ty: v.ty, mutable: false, name: p.name.text });
      });
    }
    if (!args && fn.parameters.length > 1) this.report(fn, D.ProgramDeclaration, "a program handler takes one parameter, the context");
    const p = args ? undefined : fn.parameters[0];
    if (p) {
      if (!ts.isIdentifier(p.name)) this.report(p, D.UnsupportedSyntax, "destructuring the context is not supported; name it (ctx)");
      const sym = this.checker.getSymbolAtLocation(p.name)!;
      // A declared context layout (syscall programs) is plain memory the program reads and writes.
      this.#scopes[0]!.set(sym, { k: "reg", reg: this.ctxReg, ty: layout ? { k: "mem", layout } : { k: "ctx" }, mutable: false, name: p.name.text });
    }
    this.at(fn);
    if (ts.isBlock(fn.body)) this.block(fn.body);
    else {
      const e = this.expr(fn.body, I32);
      // `(sk) => kfuncs.f(sk)` of a void function returns 0.
      if (e.ty.k === "void") this.b.terminate({ op: "ret", value: imm(0) });
      else this.ret(this.coerce(this.value(e, fn.body), I32, fn.body), fn.body);
    }
    if (!this.b.terminated) this.b.terminate({ op: "ret", value: imm(0) });
  }

  // ------------------------------------------------------------------------------------------------
  // Scopes.

  #lookup(sym: ts.Symbol): Local | undefined {
    for (let i = this.#scopes.length - 1; i >= 0; i--) {
      const l = this.#scopes[i]!.get(sym);
      if (l) return l;
    }
    return undefined;
  }

  #declare(sym: ts.Symbol, local: Local): void {
    this.#scopes[this.#scopes.length - 1]!.set(sym, local);
    // A fresh declaration (e.g. in the second inlined call of a function) is usable again.
    for (const c of this.#consumed) c.delete(sym);
  }

  #scoped<T>(fn: () => T): T {
    this.#scopes.push(new Map());
    this.#consumed.push(new Map());
    try {
      return fn();
    } finally {
      this.#scopes.pop();
      const consumed = this.#consumed.pop()!;
      // A record released in a branch that returned stays usable after the branch.
      if (!this.b.terminated) for (const [k, v] of consumed) this.#consumed[this.#consumed.length - 1]!.set(k, v);
    }
  }

  /** Marks a ring buffer record (a local) as submitted/discarded. */
  consume(e: ts.Expression, at: ts.Node): void {
    while (ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e)) e = e.expression;
    if (!ts.isIdentifier(e)) return;
    const sym = this.m.consts.resolveSymbol(e);
    if (sym) this.#consumed[this.#consumed.length - 1]!.set(sym, { at });
  }

  /**
   * A helper that changes packet data was called at `at`: every `const` view the handler loaded with
   * `ctx.load(...)` and still has in scope is stale (the verifier rejects its use), so later uses are errors.
   */
  invalidatePacketViews(at: ts.Node): void {
    for (const scope of this.#scopes) {
      for (const [sym, local] of scope) {
        if (local.k !== "reg") continue;
        const d = sym.valueDeclaration;
        if (!d || !ts.isVariableDeclaration(d) || !d.initializer || !(ts.getCombinedNodeFlags(d.parent) & ts.NodeFlags.Const)) continue;
        let init = d.initializer;
        while (ts.isParenthesizedExpression(init) || ts.isNonNullExpression(init)) init = init.expression;
        if (!ts.isCallExpression(init) || !ts.isPropertyAccessExpression(init.expression) || init.expression.name.text !== "load") continue;
        const obj = init.expression.expression;
        const objSym = ts.isIdentifier(obj) ? this.m.consts.resolveSymbol(obj) : undefined;
        const objLocal = objSym ? this.#lookup(objSym) : undefined;
        if (objLocal?.k === "reg" && objLocal.ty.k === "ctx") this.#consumed[this.#consumed.length - 1]!.set(sym, { at, packet: true });
      }
    }
  }

  #checkConsumed(sym: ts.Symbol, id: ts.Identifier): void {
    for (let i = this.#consumed.length - 1; i >= 0; i--) {
      const mark = this.#consumed[i]!.get(sym);
      if (!mark) continue;
      const at = mark.at;
      const line = at.getSourceFile().getLineAndCharacterOfPosition(at.getStart()).line + 1;
      if (mark.packet) this.report(id, D.TypeMismatch, `"${id.text}" is a view of packet data loaded before ${at.getText()} on line ${line}, which changed the packet; load it again with ctx.load after that call`);
      this.report(id, D.TypeMismatch, `"${id.text}" was submitted or discarded on line ${line}; a ring buffer record cannot be used after that (copy the fields you need first)`);
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Statements.

  block(node: ts.Block): void {
    this.#scoped(() => {
      for (const s of node.statements) this.statement(s);
    });
  }

  /** Lowers a statement; a diagnosed construct skips the rest of that statement only. */
  statement(s: ts.Statement): void {
    try {
      this.#statement(s);
    } catch (e) {
      if (!(e instanceof Diagnosed)) throw e;
    }
  }

  #statement(s: ts.Statement): void {
    this.at(s);
    switch (s.kind) {
      case ts.SyntaxKind.Block:
        return this.block(s as ts.Block);
      case ts.SyntaxKind.EmptyStatement:
        return;
      case ts.SyntaxKind.ExpressionStatement:
        this.expr((s as ts.ExpressionStatement).expression, undefined, true);
        return;
      case ts.SyntaxKind.VariableStatement:
        return this.#variables((s as ts.VariableStatement).declarationList);
      case ts.SyntaxKind.IfStatement:
        return this.#if(s as ts.IfStatement);
      case ts.SyntaxKind.ReturnStatement:
        return this.#return(s as ts.ReturnStatement);
      case ts.SyntaxKind.ForStatement:
        return this.#for(s as ts.ForStatement);
      case ts.SyntaxKind.ForOfStatement:
        return this.#forOf(s as ts.ForOfStatement);
      case ts.SyntaxKind.BreakStatement:
      case ts.SyntaxKind.ContinueStatement: {
        const st = s as ts.BreakOrContinueStatement;
        if (st.label) this.report(st, D.UnsupportedSyntax, "labelled break/continue is not supported");
        const loop = this.#loops[this.#loops.length - 1];
        if (!loop) this.report(st, D.UnsupportedSyntax, "break/continue outside a loop");
        const target = s.kind === ts.SyntaxKind.BreakStatement ? loop.breakTo : loop.continueTo;
        if (target === undefined) this.report(st, D.UnsupportedSyntax, "continue inside switch is not supported");
        this.b.jumpTo(target);
        return;
      }
      case ts.SyntaxKind.SwitchStatement:
        return this.#switch(s as ts.SwitchStatement);
      case ts.SyntaxKind.WhileStatement:
        return this.#while(s as ts.WhileStatement);
      case ts.SyntaxKind.DoStatement:
        this.report(s, D.UnboundedLoop, "do...while loops are not supported; write `while (cond) { ... }`");
      case ts.SyntaxKind.ForInStatement:
        this.report(s, D.DynamicAccess, "for...in iterates over dynamic keys, which kernel programs do not have");
      case ts.SyntaxKind.ThrowStatement:
      case ts.SyntaxKind.TryStatement:
        this.report(s, D.Exception, "exceptions are not supported in kernel programs; return an error code instead");
      case ts.SyntaxKind.FunctionDeclaration:
        this.report(s, D.Closure, "nested functions are not supported; declare functions at module level");
      case ts.SyntaxKind.ClassDeclaration:
        this.report(s, D.Class, "classes are not supported in kernel programs; use struct layouts and functions");
      case ts.SyntaxKind.TypeAliasDeclaration:
      case ts.SyntaxKind.InterfaceDeclaration:
        return;
      case ts.SyntaxKind.LabeledStatement:
        this.report(s, D.UnsupportedSyntax, "labels are not supported");
      default:
        this.report(s, D.UnsupportedSyntax, `${ts.SyntaxKind[s.kind]} is not supported in kernel programs`);
    }
  }

  #variables(list: ts.VariableDeclarationList): void {
    const isConst = (list.flags & ts.NodeFlags.Const) !== 0;
    if (list.flags & (ts.NodeFlags.Using | ts.NodeFlags.AwaitUsing) && !isConst) this.report(list, D.UnsupportedSyntax, "`using` declarations are not supported");
    for (const d of list.declarations) {
      try {
        this.#variable(d, isConst);
      } catch (e) {
        if (!(e instanceof Diagnosed)) throw e;
        const sym = ts.isIdentifier(d.name) ? this.checker.getSymbolAtLocation(d.name) : undefined;
        if (sym && !this.#lookup(sym)) this.#declare(sym, { k: "failed" });
      }
    }
  }

  #variable(d: ts.VariableDeclaration, isConst: boolean): void {
    if (!ts.isIdentifier(d.name)) this.report(d.name, D.UnsupportedSyntax, "destructuring is not supported; declare one variable at a time");
    const sym = this.checker.getSymbolAtLocation(d.name)!;
    const declared = d.type ? this.m.typeOfNode(d.type) : undefined;
    if (!d.initializer) {
      if (!declared) this.report(d, D.UnsizedType, `variable "${d.name.text}" needs a type or an initializer`);
      if (declared.k === "mem") {
        const addr = this.zeroed(declared.layout, d.name.text);
        this.#declare(sym, { k: "reg", reg: addr, ty: declared, mutable: !isConst, name: d.name.text });
        return;
      }
      const r = this.b.reg();
      this.b.mov(r, imm(0));
      this.#declare(sym, { k: "reg", reg: r, ty: declared, mutable: true, name: d.name.text });
      return;
    }
    let v = this.expr(d.initializer, declared);
    if (v.ty.k === "void" || v.ty.k === "never") this.report(d.initializer, D.TypeMismatch, "this expression has no value");
    if (v.ty.k === "ref" && !declared && !ts.isCallExpression(skipParens(d.initializer))) {
      // Only the variable a lookup initialises is the live reference; `const a = v` copies the scalar.
      if (this.#mayBeNull(d.initializer)) {
        this.report(d.initializer, D.TypeMismatch, `"${d.name.text}" would alias a map reference that may still be null; check it for null first, then copy its value`);
      }
      v = this.value(v, d.initializer);
    }
    if (isConst && (v.ty.k === "lit" || v.ty.k === "layout" || v.ty.k === "str" || v.ty.k === "map") && !declared) {
      this.#declare(sym, { k: "const", value: v });
      return;
    }
    // A kernel array becomes the variable's own copy on the stack.
    if (v.ty.k === "karray" && !declared) v = this.#kernelArrayCopy(v, arrayLayoutOf(v.ty.elem, v.ty.count), d.initializer);
    let ty: Ty = declared ?? v.ty;
    if (ty.k === "lit") ty = ty.big ? I64 : I32;
    if (ty.k === "null") this.report(d, D.UnsizedType, `variable "${d.name.text}" needs a type`);
    const value = declared ? this.coerce(v, declared, d.initializer) : v;
    if (isConst && "reg" in value.op && (ty.k === "mem" || ty.k === "ref" || ty.k === "kptr" || ty.k === "ctx")) {
      this.#declare(sym, { k: "reg", reg: value.op.reg, ty, mutable: false, name: d.name.text });
      return;
    }
    const r = this.b.reg();
    this.b.mov(r, this.operandOf(value, d.initializer));
    this.#declare(sym, { k: "reg", reg: r, ty, mutable: !isConst, name: d.name.text });
  }

  #if(s: ts.IfStatement): void {
    const then = this.b.block();
    const after = this.b.block();
    const otherwise = s.elseStatement ? this.b.block() : after;
    this.cond(s.expression, then, otherwise);
    this.b.setBlock(then);
    this.statement(s.thenStatement);
    this.b.jumpTo(after);
    if (s.elseStatement) {
      this.b.setBlock(otherwise);
      this.statement(s.elseStatement);
      this.b.jumpTo(after);
    }
    this.b.setBlock(after);
  }

  #return(s: ts.ReturnStatement): void {
    const frame = this.#inline[this.#inline.length - 1];
    if (frame) {
      if (s.expression) {
        const v = this.expr(s.expression, frame.resultTy);
        if (frame.result !== undefined) this.b.mov(frame.result, this.operandOf(this.coerce(v, frame.resultTy, s.expression), s.expression));
      }
      this.#destroyIters(this.#inline.length);
      this.b.jumpTo(frame.exit);
      return;
    }
    if (!s.expression) {
      this.#destroyIters(0);
      this.b.terminate({ op: "ret", value: imm(0) });
      return;
    }
    const sub = this.#subResult;
    if (sub) {
      if (sub.k === "void") {
        this.expr(s.expression, undefined, true);
        this.#destroyIters(0);
        this.b.terminate({ op: "ret", value: imm(0) });
        return;
      }
      const v = this.value(this.expr(s.expression, sub), s.expression);
      const op = this.operandOf(this.coerce(v, sub, s.expression), s.expression);
      this.#destroyIters(0);
      this.b.terminate({ op: "ret", value: op });
      return;
    }
    const v = this.value(this.expr(s.expression, I32), s.expression);
    this.ret(this.coerce(v, I32, s.expression), s.expression);
  }

  ret(v: Value, node: ts.Node): void {
    const op = this.operandOf(v, node);
    // Leaving run-time loops: every open iterator is destroyed first (the verifier requires it).
    this.#destroyIters(0);
    const rule = this.#returns;
    if (rule && "imm" in op) {
      const x = BigInt.asIntN(32, op.imm);
      if (x < BigInt(rule.min) || x > BigInt(rule.max)) {
        this.report(node, D.ReturnValue, `${this.prog.entry} programs return ${rule.min === rule.max ? rule.min : `${rule.min}..${rule.max}`} (${rule.meaning}); ${x} is not accepted by the kernel`);
      }
    }
    this.b.terminate({ op: "ret", value: op });
  }

  /** `for (init; i < N; i += k)`: the bound must be a constant the loop variable is compared with. */
  #for(s: ts.ForStatement): void {
    this.#scoped(() => {
      if (s.initializer) {
        if (ts.isVariableDeclarationList(s.initializer)) this.#variables(s.initializer);
        else this.expr(s.initializer, undefined, true);
      }
      const why = this.#unbounded(s);
      const trips = why === undefined ? this.#trips(s) : undefined;
      if (why !== undefined || (trips !== undefined && trips > WALKED_LOOP_MAX_TRIPS)) {
        if (this.#hasIterators()) return this.#iterLoop(s.statement, s.condition, s.incrementor, this.#counted(s));
        if (why !== undefined) {
          this.report(s, D.UnboundedLoop, `loop bound not provable: ${why}; a run-time bound needs open-coded iterators (kfunc bpf_iter_num_new, Linux 6.4+), which the target kernel's BTF lacks: write \`for (let i = 0; i < N; i++)\` with a constant N`);
        }
      }
      const head = this.b.block();
      const body = this.b.block();
      const step = this.b.block();
      const exit = this.b.block();
      this.b.jumpTo(head);
      this.b.setBlock(head);
      if (s.condition) this.cond(s.condition, body, exit);
      else this.b.jumpTo(body);
      this.b.setBlock(body);
      this.#loops.push({ breakTo: exit, continueTo: step });
      try {
        this.statement(s.statement);
      } finally {
        this.#loops.pop();
      }
      this.b.jumpTo(step);
      this.b.setBlock(step);
      if (s.incrementor) {
        this.at(s.incrementor);
        this.expr(s.incrementor, undefined, true);
      }
      this.b.jumpTo(head);
      this.b.setBlock(exit);
    });
  }

  /** Why the verifier cannot bound this `for` loop by itself, or undefined when it can. */
  #unbounded(s: ts.ForStatement): string | undefined {
    const fail = (why: string): string => why;
    let c = s.condition;
    while (c && ts.isBinaryExpression(c) && c.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) c = c.left;
    if (!c || !ts.isBinaryExpression(c)) return fail("no `i < N` condition");
    const op = c.operatorToken.kind;
    const cmp = [ts.SyntaxKind.LessThanToken, ts.SyntaxKind.LessThanEqualsToken, ts.SyntaxKind.GreaterThanToken, ts.SyntaxKind.GreaterThanEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken];
    if (!cmp.includes(op)) return fail("the condition is not a comparison");
    let variable: ts.Expression = c.left, bound: ts.Expression = c.right;
    if (!ts.isIdentifier(variable)) [variable, bound] = [bound, variable];
    if (!ts.isIdentifier(variable)) return fail("the condition does not compare the loop variable");
    const boundValue = this.m.consts.tryEvaluate(bound);
    if (boundValue === NOT_CONSTANT && !this.#isArrayLength(bound)) return fail(`\`${bound.getText()}\` is not a compile-time constant`);
    const sym = this.checker.getSymbolAtLocation(variable);
    const inc = s.incrementor;
    const stepsVar = (e: ts.Expression | undefined): boolean => {
      if (!e) return false;
      if ((ts.isPostfixUnaryExpression(e) || ts.isPrefixUnaryExpression(e)) && ts.isIdentifier(e.operand)) return this.checker.getSymbolAtLocation(e.operand) === sym;
      if (ts.isBinaryExpression(e) && ts.isIdentifier(e.left) && (e.operatorToken.kind === ts.SyntaxKind.PlusEqualsToken || e.operatorToken.kind === ts.SyntaxKind.MinusEqualsToken)) {
        return this.checker.getSymbolAtLocation(e.left) === sym && this.m.consts.tryEvaluate(e.right) !== NOT_CONSTANT;
      }
      return false;
    };
    if (!stepsVar(inc)) return fail("the incrementor does not step the loop variable by a constant");
    let assigned = false;
    const visit = (n: ts.Node): void => {
      if (ts.isBinaryExpression(n) && n.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && n.operatorToken.kind <= ts.SyntaxKind.LastAssignment && ts.isIdentifier(n.left) && this.checker.getSymbolAtLocation(n.left) === sym) assigned = true;
      if ((ts.isPostfixUnaryExpression(n) || ts.isPrefixUnaryExpression(n)) && (n.operator === ts.SyntaxKind.PlusPlusToken || n.operator === ts.SyntaxKind.MinusMinusToken) && ts.isIdentifier(n.operand) && this.checker.getSymbolAtLocation(n.operand) === sym) assigned = true;
      ts.forEachChild(n, visit);
    };
    visit(s.statement);
    if (assigned) return fail("the loop variable is assigned in the body");
    return undefined;
  }

  /** `while (cond) body`: a run-time loop (open-coded iterator). */
  #while(s: ts.WhileStatement): void {
    if (!this.#hasIterators()) {
      this.report(s, D.UnboundedLoop, "a while loop needs open-coded iterators (kfunc bpf_iter_num_new, Linux 6.4+), which the target kernel's BTF lacks; write `for (let i = 0; i < N; i++)` with a constant N");
    }
    this.#scoped(() => this.#iterLoop(s.statement, s.expression, undefined, undefined));
  }

  /** Whether the target kernel has the open-coded number iterator (bpf_iter_num_new/next/destroy, Linux 6.4+). */
  #hasIterators(): boolean {
    try {
      return ITER_KFUNCS.every((n) => this.m.kernel.btf.find(n, "func").length > 0);
    } catch {
      return false;
    }
  }

  /** The constant number of iterations of a verifier-bounded `for`, when start, bound and step are constants. */
  #trips(s: ts.ForStatement): number | undefined {
    const init = s.initializer;
    const d = init && ts.isVariableDeclarationList(init) && init.declarations.length === 1 ? init.declarations[0]! : undefined;
    let c = s.condition;
    while (c && ts.isBinaryExpression(c) && c.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) c = c.left;
    if (!d?.initializer || !c || !ts.isBinaryExpression(c)) return undefined;
    const num = (e: ts.Expression): number | undefined => {
      const v = this.m.consts.tryEvaluate(e);
      return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
    };
    const start = num(d.initializer);
    const bound = ts.isIdentifier(c.left) ? num(c.right) : num(c.left);
    const inc = s.incrementor;
    const step = inc && ts.isBinaryExpression(inc) ? num(inc.right) : 1;
    if (start === undefined || bound === undefined || !step) return undefined;
    return Math.ceil(Math.abs(bound - start) / Math.abs(step));
  }

  /**
   * A counted `for (let i = S; i < E; i++)` (or `<=`, `++i`, `i += 1`) whose variable the body does
   * not assign and whose bound is a constant or a local the body does not assign: the iterator then
   * produces `i` itself, so the verifier sees an unknown counter and the loop converges.
   */
  #counted(s: ts.ForStatement): CountedLoop | undefined {
    const init = s.initializer;
    const d = init && ts.isVariableDeclarationList(init) && init.declarations.length === 1 ? init.declarations[0]! : undefined;
    const c = s.condition;
    if (!d || !ts.isIdentifier(d.name) || !c || !ts.isBinaryExpression(c) || !ts.isIdentifier(c.left)) return undefined;
    const sym = this.checker.getSymbolAtLocation(d.name);
    if (!sym || this.checker.getSymbolAtLocation(c.left) !== sym) return undefined;
    const op = c.operatorToken.kind;
    if (op !== ts.SyntaxKind.LessThanToken && op !== ts.SyntaxKind.LessThanEqualsToken) return undefined;
    const inc = s.incrementor;
    const one = inc && (((ts.isPostfixUnaryExpression(inc) || ts.isPrefixUnaryExpression(inc)) && inc.operator === ts.SyntaxKind.PlusPlusToken)
      || (ts.isBinaryExpression(inc) && inc.operatorToken.kind === ts.SyntaxKind.PlusEqualsToken && this.m.consts.tryEvaluate(inc.right) === 1));
    if (!one) return undefined;
    const local = this.#lookup(sym);
    if (local?.k !== "reg" || local.ty.k !== "int") return undefined;
    const end = c.right;
    const endSym = ts.isIdentifier(end) ? this.checker.getSymbolAtLocation(end) : undefined;
    const endLocal = endSym ? this.#lookup(endSym) : undefined;
    const constant = this.m.consts.tryEvaluate(end) !== NOT_CONSTANT;
    if (!constant && endLocal?.k !== "reg") return undefined;
    if (assigns(s.statement, (n) => this.checker.getSymbolAtLocation(n), [sym, ...(endSym ? [endSym] : [])])) return undefined;
    return { local, end, inclusive: op === ts.SyntaxKind.LessThanEqualsToken };
  }

  /** The integer and boolean register locals, declared before the loop, that `nodes` assign. */
  #loopCarried(nodes: readonly (ts.Node | undefined)[]): Extract<Local, { k: "reg" }>[] {
    const out = new Set<Extract<Local, { k: "reg" }>>();
    const note = (id: ts.Node): void => {
      if (!ts.isIdentifier(id)) return;
      const sym = this.checker.getSymbolAtLocation(id);
      const local = sym ? this.#lookup(sym) : undefined;
      if (local?.k === "reg" && local.mutable && (local.ty.k === "int" || local.ty.k === "bool")) out.add(local);
    };
    const visit = (n: ts.Node): void => {
      if (ts.isBinaryExpression(n) && n.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && n.operatorToken.kind <= ts.SyntaxKind.LastAssignment) note(n.left);
      if ((ts.isPostfixUnaryExpression(n) || ts.isPrefixUnaryExpression(n)) && (n.operator === ts.SyntaxKind.PlusPlusToken || n.operator === ts.SyntaxKind.MinusMinusToken)) note(n.operand);
      ts.forEachChild(n, visit);
    };
    for (const n of nodes) if (n) visit(n);
    return [...out];
  }

  /** Calls one of the number iterator's kfuncs (declared as a `.ksyms` extern). */
  #iterCall(name: (typeof ITER_KFUNCS)[number], args: Operand[], dst?: VReg): void {
    const itPtr: CType = { kind: "ptr", target: { kind: "fwd", name: "bpf_iter_num" } };
    const int: CType = { kind: "int", name: "int", size: 4, signed: true };
    const params = name === "bpf_iter_num_new" ? [{ name: "it", type: itPtr }, { name: "start", type: int }, { name: "end", type: int }] : [{ name: "it", type: itPtr }];
    const returns: CType = name === "bpf_iter_num_new" ? int : name === "bpf_iter_num_next" ? { kind: "ptr", target: int } : { kind: "void" };
    this.m.kfunc(name, { kind: "func_proto", returns, params });
    this.b.emit(dst === undefined ? { op: "callKfunc", kfunc: name, args } : { op: "callKfunc", kfunc: name, args, dst });
  }

  /** Destroys the open iterators of inline depth `minDepth` and deeper (on a `return` that leaves their loops). */
  #destroyIters(minDepth: number): void {
    for (let i = this.#iters.length - 1; i >= 0; i--) {
      const it = this.#iters[i]!;
      if (it.depth >= minDepth) this.#iterCall("bpf_iter_num_destroy", [reg(it.addr)]);
    }
  }

  /**
   * A run-time loop over an open-coded number iterator: `bpf_iter_num_new(&it, start, end)`, then each
   * round `bpf_iter_num_next(&it)` (NULL: done) before the condition, and `bpf_iter_num_destroy` on
   * every way out. A counted loop takes its variable from the iterator (start..end, at most
   * BPF_MAX_LOOPS rounds); any other loop gets BPF_MAX_LOOPS rounds of fuel and tests its condition.
   */
  #iterLoop(body: ts.Statement, condition: ts.Expression | undefined, incrementor: ts.Expression | undefined, counted: CountedLoop | undefined): void {
    const it = this.b.reg();
    this.b.emit({ op: "stackAddr", dst: it, slot: this.b.slot(8, 8, "iter"), offset: 0 });
    let start: Operand = imm(0);
    let end: Operand = imm(MAX_LOOPS);
    if (counted) {
      const i = counted.local;
      const e = this.b.toReg(this.operandOf(this.coerce(this.value(this.expr(counted.end, i.ty), counted.end), I64, counted.end), counted.end));
      const s64 = this.b.toReg(this.operandOf(this.coerce({ ty: i.ty, op: reg(i.reg) }, I64, counted.end), counted.end));
      const last = this.b.reg();
      this.b.emit({ op: "alu", alu: "add", bits: 64, dst: last, a: reg(e), b: imm(counted.inclusive ? 1 : 0) });
      // At most BPF_MAX_LOOPS rounds: the kernel refuses a longer range (the loop would not run at all).
      const limit = this.b.reg();
      this.b.emit({ op: "alu", alu: "add", bits: 64, dst: limit, a: reg(s64), b: imm(MAX_LOOPS) });
      const clamp = this.b.block();
      const go = this.b.block();
      this.b.terminate({ op: "br", cond: "sgt", bits: 64, a: last, b: reg(limit), then: clamp, else: go });
      this.b.setBlock(clamp);
      this.b.mov(last, reg(limit));
      this.b.jumpTo(go);
      this.b.setBlock(go);
      start = reg(s64);
      end = reg(last);
    }
    const status = this.b.reg();
    this.#iterCall("bpf_iter_num_new", [reg(it), start, end], status);
    // Variables the loop changes start from values the verifier cannot know: plus new()'s status, 0
    // whenever the loop runs (on failure next() ends it at once). Otherwise a counter that starts at a
    // known constant decides its branches, becomes precise, and the verifier walks every round again.
    for (const local of this.#loopCarried([body, condition, incrementor])) {
      if (local !== counted?.local) this.b.emit({ op: "alu", alu: "add", bits: 64, dst: local.reg, a: reg(local.reg), b: reg(status) });
    }
    const head = this.b.block();
    const test = this.b.block();
    const bodyBlock = this.b.block();
    const step = this.b.block();
    const exit = this.b.block();
    this.b.jumpTo(head);
    this.b.setBlock(head);
    const p = this.b.reg();
    this.#iterCall("bpf_iter_num_next", [reg(it)], p);
    this.b.terminate({ op: "br", cond: "eq", bits: 64, a: p, b: imm(0), then: exit, else: test });
    this.b.setBlock(test);
    if (counted) {
      const i = counted.local;
      const ty = i.ty as IntTy;
      this.b.emit({ op: "load", size: 4, dst: i.reg, base: p, offset: 0, ...(ty.signed && ty.bits === 64 ? { signed: true } : {}) });
      this.b.jumpTo(bodyBlock);
    } else if (condition) this.cond(condition, bodyBlock, exit);
    else this.b.jumpTo(bodyBlock);
    this.b.setBlock(bodyBlock);
    this.#loops.push({ breakTo: exit, continueTo: step });
    this.#iters.push({ addr: it, depth: this.#inline.length });
    try {
      this.statement(body);
    } finally {
      this.#loops.pop();
      this.#iters.pop();
    }
    this.b.jumpTo(step);
    this.b.setBlock(step);
    if (incrementor && !counted) {
      this.at(incrementor);
      this.expr(incrementor, undefined, true);
    }
    this.b.jumpTo(head);
    this.b.setBlock(exit);
    this.#iterCall("bpf_iter_num_destroy", [reg(it)]);
  }

  /** Whether TypeScript's type of `e` at this point still includes null. */
  #mayBeNull(e: ts.Expression): boolean {
    const t = this.checker.getTypeAtLocation(e);
    const parts = t.isUnion() ? t.types : [t];
    return parts.some((p) => (p.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)) !== 0);
  }

  #isArrayLength(e: ts.Expression): boolean {
    return ts.isPropertyAccessExpression(e) && e.name.text === "length";
  }

  #forOf(s: ts.ForOfStatement): void {
    this.#scoped(() => {
      let arr = this.expr(s.expression);
      if (arr.ty.k === "karray") arr = this.#kernelArrayCopy(arr, arrayLayoutOf(arr.ty.elem, arr.ty.count), s.expression);
      const layout = arr.ty.k === "mem" ? arr.ty.layout : undefined;
      const info = layout && arrayInfo(layout);
      if (!info) this.report(s.expression, D.UnsupportedSyntax, "for...of works on fixed-size arrays only");
      if (!ts.isVariableDeclarationList(s.initializer) || s.initializer.declarations.length !== 1 || !ts.isIdentifier(s.initializer.declarations[0]!.name)) {
        this.report(s.initializer, D.UnsupportedSyntax, "use `for (const x of array)`");
      }
      const name = s.initializer.declarations[0]!.name as ts.Identifier;
      const sym = this.checker.getSymbolAtLocation(name)!;
      const base = this.b.toReg(arr.op);
      const idx = this.b.reg();
      this.b.mov(idx, imm(0));
      const head = this.b.block(), body = this.b.block(), step = this.b.block(), exit = this.b.block();
      this.b.jumpTo(head);
      this.b.setBlock(head);
      this.b.terminate({ op: "br", cond: "lt", bits: 64, a: idx, b: imm(info.length), then: body, else: exit });
      this.b.setBlock(body);
      const addr = this.b.reg();
      const off = this.b.reg();
      this.b.emit({ op: "alu", alu: "mul", bits: 64, dst: off, a: reg(idx), b: imm(info.element.size) });
      this.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(base), b: reg(off) });
      const elemTy = tyOfLayout(info.element);
      const v = this.read({ k: "mem", base: addr, offset: 0, ty: elemTy, what: "array element" }, s.expression);
      const r = this.b.reg();
      this.b.mov(r, v.op);
      this.#declare(sym, { k: "reg", reg: r, ty: v.ty, mutable: false, name: name.text });
      this.#loops.push({ breakTo: exit, continueTo: step });
      try {
        this.statement(s.statement);
      } finally {
        this.#loops.pop();
      }
      this.b.jumpTo(step);
      this.b.setBlock(step);
      this.b.emit({ op: "alu", alu: "add", bits: 64, dst: idx, a: reg(idx), b: imm(1) });
      this.b.jumpTo(head);
      this.b.setBlock(exit);
    });
  }

  #switch(s: ts.SwitchStatement): void {
    const subject = this.value(this.expr(s.expression), s.expression);
    const exit = this.b.block();
    const clauses = s.caseBlock.clauses;
    const bodies = clauses.map(() => this.b.block());
    let defaultBody: BlockId = exit;
    clauses.forEach((c, i) => {
      if (ts.isDefaultClause(c)) defaultBody = bodies[i]!;
    });
    for (let i = 0; i < clauses.length; i++) {
      const c = clauses[i]!;
      if (!ts.isCaseClause(c)) continue;
      const next = this.b.block();
      this.#compare(ts.SyntaxKind.EqualsEqualsEqualsToken, subject, this.expr(c.expression, subject.ty), c.expression, bodies[i]!, next);
      this.b.setBlock(next);
    }
    this.b.jumpTo(defaultBody);
    this.#loops.push({ breakTo: exit, continueTo: this.#loops[this.#loops.length - 1]?.continueTo });
    try {
      clauses.forEach((c, i) => {
        this.b.setBlock(bodies[i]!);
        this.#scoped(() => {
          for (const st of c.statements) this.statement(st);
        });
        this.b.jumpTo(bodies[i + 1] ?? exit);
      });
    } finally {
      this.#loops.pop();
    }
    this.b.setBlock(exit);
  }

  // ------------------------------------------------------------------------------------------------
  // Conditions.

  /** Branches to `t` when `e` is truthy, else to `f`. */
  cond(e: ts.Expression, t: BlockId, f: BlockId): void {
    e = skipParens(e);
    if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) return this.cond(e.operand, f, t);
    if (ts.isBinaryExpression(e)) {
      const op = e.operatorToken.kind;
      if (op === ts.SyntaxKind.AmpersandAmpersandToken) {
        const mid = this.b.block();
        this.cond(e.left, mid, f);
        this.b.setBlock(mid);
        return this.cond(e.right, t, f);
      }
      if (op === ts.SyntaxKind.BarBarToken) {
        const mid = this.b.block();
        this.cond(e.left, t, mid);
        this.b.setBlock(mid);
        return this.cond(e.right, t, f);
      }
      if (isComparison(op)) {
        // A map reference compared with null is tested as an address; with anything else its value is
        // compared (read now: evaluation is left to right), as TypeScript compares the numbers.
        let a = this.expr(e.left);
        if (a.ty.k === "ref" && skipParens(e.right).kind !== ts.SyntaxKind.NullKeyword) a = this.#referencedValue(a, e.left);
        let bv = this.expr(e.right, a.ty.k === "lit" ? undefined : a.ty);
        if (bv.ty.k === "ref" && a.ty.k !== "null") bv = this.#referencedValue(bv, e.right);
        return this.#compare(op, a, bv, e, t, f);
      }
    }
    if (e.kind === ts.SyntaxKind.TrueKeyword) return this.b.jumpTo(t);
    if (e.kind === ts.SyntaxKind.FalseKeyword) return this.b.jumpTo(f);
    const v = this.value(this.expr(e), e);
    if ("imm" in v.op) return this.b.jumpTo(v.op.imm !== 0n ? t : f);
    const bits = v.ty.k === "int" && v.ty.bits <= 32 ? 32 : 64;
    this.b.terminate({ op: "br", cond: "ne", bits, a: v.op.reg, b: imm(0), then: t, else: f });
  }

  /** The value a map reference points at, which TypeScript must know is not null here. */
  #referencedValue(v: Value, e: ts.Expression): Value {
    if (this.#mayBeNull(e)) this.report(e, D.TypeMismatch, `this map reference may be null here; compare its value after checking it for null (\`if (${e.getText()} !== null)\`)`);
    return this.value(v, e);
  }

  #compare(op: ts.SyntaxKind, a: Value, bv: Value, node: ts.Node, t: BlockId, f: BlockId): void {
    const isNull = (v: Value) => v.ty.k === "null";
    // Scalar map references reach here only beside null (cond() reads their values otherwise).
    const pointerish = (ty: Ty) => ty.k === "mem" || ty.k === "kptr";
    let cond: Cond;
    let bits: 32 | 64 = 64;
    if (isNull(a) || isNull(bv) || (pointerish(a.ty) && pointerish(bv.ty))) {
      if (op !== ts.SyntaxKind.EqualsEqualsEqualsToken && op !== ts.SyntaxKind.ExclamationEqualsEqualsToken && op !== ts.SyntaxKind.EqualsEqualsToken && op !== ts.SyntaxKind.ExclamationEqualsToken) {
        this.report(node, D.Operator, "references can only be compared for (in)equality");
      }
      cond = op === ts.SyntaxKind.EqualsEqualsEqualsToken || op === ts.SyntaxKind.EqualsEqualsToken ? "eq" : "ne";
      if (isNull(a)) [a, bv] = [bv, a];
      if (isNull(a)) return this.b.jumpTo(cond === "eq" ? t : f);
      // `x === null` when x is a reference: compare the address, not the value.
      const ar = "reg" in a.op ? a.op.reg : this.b.toReg(a.op);
      const bo = isNull(bv) ? imm(0) : bv.op;
      this.b.terminate({ op: "br", cond, bits: 64, a: ar, b: bo, then: t, else: f });
      return;
    }
    a = this.value(a, node);
    bv = this.value(bv, node);
    let ty: IntTy;
    if (a.ty.k === "bool" || bv.ty.k === "bool") ty = U64;
    else if (a.ty.k === "lit" && bv.ty.k === "lit") {
      const x = (a.op as { imm: bigint }).imm, y = (bv.op as { imm: bigint }).imm;
      return this.b.jumpTo(foldCompare(op, x, y) ? t : f);
    } else if (a.ty.k === "lit") ty = this.#literalPartner(a, promote(this.intOf(bv, node)), node);
    else if (bv.ty.k === "lit") ty = this.#literalPartner(bv, promote(this.intOf(a, node)), node);
    else ty = arithmeticType(this.intOf(a, node), this.intOf(bv, node));
    bits = ty.bits === 64 ? 64 : 32;
    cond = condFor(op, ty.signed, node, this);
    let ao = a.op, bo = bv.op;
    if ("imm" in ao && "imm" in bo) {
      // Two constants typed by conversions (`i32(1) < i32(2)`): decided here, in the operation's type.
      return this.b.jumpTo(foldCompare(op, wrap(ao.imm, ty), wrap(bo.imm, ty)) ? t : f);
    }
    if ("imm" in ao) {
      [ao, bo] = [bo, ao];
      cond = mirror(cond);
    }
    if ("imm" in bo) bo = imm(bits === 32 ? BigInt.asIntN(32, wrap(bo.imm, ty)) : BigInt.asIntN(64, bo.imm));
    this.b.terminate({ op: "br", cond, bits, a: (ao as { reg: VReg }).reg, b: bo, then: t, else: f });
  }

  // ------------------------------------------------------------------------------------------------
  // Expressions.

  /** The integer type of a value (reporting when it is not an integer). */
  intOf(v: Value, node: ts.Node): IntTy {
    if (v.ty.k === "int") return v.ty;
    if (v.ty.k === "lit") return v.ty.big ? I64 : I32;
    if (v.ty.k === "bool") return U32;
    return this.report(node, D.TypeMismatch, `expected an integer, got ${showTy(v.ty)}`);
  }

  /**
   * Lowers an expression. `expected` guides literals and object literals; `discard` marks statement
   * position (the value is unused).
   */
  expr(e: ts.Expression, expected?: Ty, discard = false): Value {
    switch (e.kind) {
      case ts.SyntaxKind.ParenthesizedExpression:
      case ts.SyntaxKind.AsExpression:
      case ts.SyntaxKind.SatisfiesExpression:
      case ts.SyntaxKind.NonNullExpression:
      case ts.SyntaxKind.TypeAssertionExpression:
        return this.expr((e as ts.ParenthesizedExpression).expression, expected, discard);
      case ts.SyntaxKind.NumericLiteral: {
        const text = (e as ts.NumericLiteral).text;
        const n = Number(text);
        if (!Number.isInteger(n)) this.report(e, D.Float, `floating-point numbers are not supported (${e.getText()})`);
        if (!Number.isSafeInteger(n)) this.report(e, D.ConstantRange, `${e.getText()} is not exactly representable as a number; use a bigint (${e.getText()}n) with u64/i64`);
        return { ty: LIT, op: imm(BigInt(n)) };
      }
      case ts.SyntaxKind.BigIntLiteral:
        return { ty: BIGLIT, op: imm(BigInt((e as ts.BigIntLiteral).text.slice(0, -1))) };
      case ts.SyntaxKind.TrueKeyword:
        return { ty: BOOL, op: imm(1) };
      case ts.SyntaxKind.FalseKeyword:
        return { ty: BOOL, op: imm(0) };
      case ts.SyntaxKind.NullKeyword:
        return { ty: { k: "null" }, op: imm(0) };
      case ts.SyntaxKind.StringLiteral:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
        return { ty: { k: "str", value: (e as ts.StringLiteral).text }, op: imm(0) };
      case ts.SyntaxKind.TemplateExpression:
        this.report(e, D.String, "template strings are not supported; use bpf.printk with a format and arguments");
      case ts.SyntaxKind.Identifier:
        return this.#identifier(e as ts.Identifier);
      case ts.SyntaxKind.PropertyAccessExpression:
      case ts.SyntaxKind.ElementAccessExpression: {
        const c = this.#constant(e);
        if (c) return c;
        return this.read(this.place(e), e);
      }
      case ts.SyntaxKind.CallExpression:
        return lowerCall(this, e as ts.CallExpression, expected);
      case ts.SyntaxKind.TaggedTemplateExpression:
        return lowerTaggedTemplate(this, e as ts.TaggedTemplateExpression);
      case ts.SyntaxKind.BinaryExpression:
        return this.#binary(e as ts.BinaryExpression, expected, discard);
      case ts.SyntaxKind.PrefixUnaryExpression:
        return this.#prefix(e as ts.PrefixUnaryExpression, expected, discard);
      case ts.SyntaxKind.PostfixUnaryExpression: {
        const p = e as ts.PostfixUnaryExpression;
        return this.#increment(p.operand, p.operator === ts.SyntaxKind.PlusPlusToken ? "add" : "sub", !discard, p);
      }
      case ts.SyntaxKind.ConditionalExpression:
        return this.#conditional(e as ts.ConditionalExpression, expected);
      case ts.SyntaxKind.ObjectLiteralExpression:
        return this.objectLiteral(e as ts.ObjectLiteralExpression, expected);
      case ts.SyntaxKind.ArrayLiteralExpression:
        return this.#arrayLiteral(e as ts.ArrayLiteralExpression, expected);
      case ts.SyntaxKind.ArrowFunction:
      case ts.SyntaxKind.FunctionExpression:
        this.report(e, D.Closure, "closures are not supported in kernel programs; declare a function at module level");
      case ts.SyntaxKind.NewExpression:
        this.report(e, D.Class, "`new` is only for map declarations at module level");
      case ts.SyntaxKind.AwaitExpression:
      case ts.SyntaxKind.YieldExpression:
        this.report(e, D.Async, "async code and generators are not supported in kernel programs");
      case ts.SyntaxKind.TypeOfExpression:
      case ts.SyntaxKind.DeleteExpression:
      case ts.SyntaxKind.VoidExpression:
        this.report(e, D.Operator, `the ${e.getText().split(/\s/)[0]} operator is not supported in kernel programs`);
      case ts.SyntaxKind.ThisKeyword:
        this.report(e, D.Class, "`this` is not available in kernel programs");
      default:
        this.report(e, D.UnsupportedSyntax, `${ts.SyntaxKind[e.kind]} is not supported in kernel programs`);
    }
  }

  /** A compile-time constant through property access (e.g. `XdpAction.PASS`, `Config.size`), or undefined. */
  #constant(e: ts.Expression): Value | undefined {
    // A member of a variable (`b.inner.f0`, `a[1].x`) is read from memory, even when the variable was
    // initialised from a literal the constant evaluator could see through: it may have changed since.
    let root: ts.Expression = e;
    while (ts.isPropertyAccessExpression(root) || ts.isElementAccessExpression(root) || ts.isParenthesizedExpression(root) || ts.isNonNullExpression(root)) root = root.expression;
    if (ts.isIdentifier(root) && root !== e) {
      const sym = this.m.consts.resolveSymbol(root);
      const local = sym && this.#lookup(sym);
      if (local) return undefined;
    }
    const v = this.m.consts.tryEvaluate(e);
    return v === NOT_CONSTANT ? undefined : this.constantValue(v, e);
  }

  /** Turns a compile-time value into a Value. */
  constantValue(v: unknown, node: ts.Node): Value {
    if (typeof v === "number") {
      if (!Number.isInteger(v)) this.report(node, D.Float, "floating-point values are not supported");
      return { ty: LIT, op: imm(BigInt(v)) };
    }
    if (typeof v === "bigint") return { ty: BIGLIT, op: imm(v) };
    if (typeof v === "boolean") return { ty: BOOL, op: imm(v ? 1 : 0) };
    if (typeof v === "string") return { ty: { k: "str", value: v }, op: imm(0) };
    if (isLayout(v)) return { ty: { k: "layout", layout: v }, op: imm(0) };
    return this.report(node, D.UnsupportedType, "this constant has no kernel representation");
  }

  #identifier(id: ts.Identifier, symbol?: ts.Symbol): Value {
    if (id.text === "undefined") this.report(id, D.UnsupportedSyntax, "`undefined` has no kernel meaning; use null or 0");
    const sym = symbol ?? this.m.consts.resolveSymbol(id);
    if (!sym) this.report(id, D.UnsupportedSyntax, `unknown name "${id.text}"`);
    const local = this.#lookup(sym);
    if (local) {
      if (local.k === "failed") throw new Diagnosed();
      this.#checkConsumed(sym, id);
      if (local.k === "const") return local.value;
      return this.#snapshot(local);
    }
    const decl = sym.valueDeclaration ?? sym.declarations?.[0];
    if (decl) {
      if (this.m.failed(decl)) throw new Diagnosed();
      const map = this.m.mapOf(decl);
      if (map) return { ty: { k: "map", name: map.name }, op: imm(0) };
      const g = this.m.globalOf(decl);
      if (g) return this.read(this.globalPlace(g), id);
    }
    const c = this.m.consts.tryEvaluate(id);
    // A module-level constant array: a lookup table in .rodata, indexed at run time.
    if (Array.isArray(c) && decl && ts.isVariableDeclaration(decl) && ts.isSourceFile(decl.parent.parent.parent)) {
      return this.read(this.globalPlace(this.m.constTable(decl, c)), id);
    }
    if (c !== NOT_CONSTANT) return this.constantValue(c, id);
    return this.report(id, D.UnsupportedSyntax, `"${id.text}" is not usable in kernel code (only locals, constants, maps, module variables and functions are)`);
  }

  globalPlace(g: { name: string; section: string; offset: number; ty: Ty }): Place {
    const base = this.b.reg();
    this.b.emit({ op: "mapValue", dst: base, map: g.section, offset: g.offset });
    return { k: "mem", base, offset: 0, ty: g.ty, what: `variable ${g.name}`, ...(g.section === ".rodata" ? { readonly: true } : {}) };
  }

  /** Resolves an assignable/readable expression to a place. */
  place(e: ts.Expression): Place {
    e = skipParens(e);
    if (ts.isIdentifier(e)) {
      const sym = this.m.consts.resolveSymbol(e);
      const local = sym && this.#lookup(sym);
      if (local?.k === "failed") throw new Diagnosed();
      if (sym && local) this.#checkConsumed(sym, e);
      if (local?.k === "reg") return { k: "local", local };
      const decl = sym?.valueDeclaration;
      const g = decl && this.m.globalOf(decl);
      if (g) return this.globalPlace(g);
      this.report(e, D.UnsupportedSyntax, `"${e.text}" cannot be assigned here`);
    }
    if (ts.isPropertyAccessExpression(e)) {
      if (ts.isPrivateIdentifier(e.name)) this.report(e, D.Class, "private names are not supported");
      return this.#member(e, e.name.text);
    }
    if (ts.isElementAccessExpression(e)) return this.#element(e);
    return this.report(e, D.UnsupportedSyntax, "this expression is not a variable, field or element");
  }

  #member(e: ts.PropertyAccessExpression, name: string): Place {
    const obj = this.expr(e.expression);
    const ty = obj.ty;
    if (e.questionDotToken) this.report(e, D.UnsupportedSyntax, "optional chaining is not supported; check for null first");
    // A fixed array's length is a constant (kernel arrays, local and field arrays).
    const length = name !== "length" ? undefined : ty.k === "karray" ? ty.count : ty.k === "mem" && (ty.layout.kind === "array" || ty.layout.kind === "bytes") ? arrayInfo(ty.layout)?.length : undefined;
    if (length !== undefined) return { k: "value", value: { ty: LIT, op: imm(length) }, what: "length" };
    if (ty.k === "mem") {
      const f = fieldOf(ty.layout, name);
      if (!f) this.report(e.name, D.TypeMismatch, `${showTy(ty)} has no field "${name}"`);
      const base = this.b.toReg(obj.op);
      return { k: "mem", base, offset: f.offset, ty: tyOfLayout(f.layout), what: ty.readonly ? `field "${name}" of a constant (.rodata)` : name, ...(ty.readonly ? { readonly: true } : {}) };
    }
    if (ty.k === "ctx") return this.#contextField(e, name, obj);
    if (ty.k === "kptr") return this.kernelMember(e, obj, name);
    if (ty.k === "ref") this.report(e, D.TypeMismatch, `${showTy(ty)} has no fields`);
    return this.report(e, D.TypeMismatch, `cannot read field "${name}" of ${showTy(ty)}`);
  }

  /** `parent.member` on a kernel struct: a place in kernel memory. */
  kernelMember(e: ts.Node, obj: Value, name: string): Place {
    const ty = obj.ty as Extract<Ty, { k: "kptr" }>;
    const own = ty.anon?.id ?? this.m.kernel.find(ty.name, ty.btfKind);
    if (own === undefined) this.report(e, D.KernelType, `${ty.btfKind} ${ty.name} is not in the kernel BTF`);
    const found = this.m.kernel.member(own, name);
    if (!found) this.report(e, D.KernelType, `${ty.btfKind} ${ty.name} has no member "${name}" in the kernel BTF`);
    // Inside an anonymous type, the access continues from its named ancestor.
    const a = ty.anon;
    const id = a ? a.rootId : own;
    const mem: KernelMember = a ? { ...found, path: [...a.path, ...found.path], offset: a.offset + found.offset, bitOffset: a.offset * 8 + found.bitOffset } : found;
    const base = this.b.toReg(obj.op);
    if (mem.bitfield) return { k: "value", value: kernelBitfield(this, e, base, id, mem, ty.btf === true, `${ty.name}.${name}`), what: `${ty.name}.${name}` };
    let mty: Ty;
    switch (mem.kind.k) {
      case "int": mty = mem.kind.ty; break;
      case "bool": mty = BOOL; break;
      case "ptr":
        mty = mem.kind.target ? { k: "kptr", name: mem.kind.target.name, btfKind: mem.kind.target.btfKind, ...(ty.btf ? { btf: true as const } : {}) } : U64;
        break;
      case "struct": {
        if (!mem.kind.name) {
          // An anonymous type: the same address, later reads relative to the named ancestor.
          const anon = { id: mem.kind.id, rootId: id, path: mem.path, offset: mem.offset };
          const inner: Ty = { k: "kptr", name: `${ty.name}.${name}`, btfKind: mem.kind.btfKind, anon, ...(ty.btf ? { btf: true as const } : {}) };
          return { k: "value", value: { ty: inner, op: reg(base) }, what: name };
        }
        // Embedded struct: its address; later reads are relative to it.
        const addr = this.kernelFieldAddress(base, id, mem.path, mem.offset);
        const inner: Ty = { k: "kptr", name: mem.kind.name, btfKind: mem.kind.btfKind, ...(ty.btf ? { btf: true as const } : {}) };
        return { k: "value", value: { ty: inner, op: reg(addr) }, what: name };
      }
      case "array":
        // An integer array is indexed or copied (kernel-data.ts); other arrays give their address.
        if (mem.kind.elem && mem.kind.count) return { k: "value", value: kernelArray(this, base, id, mem, mem.kind.elem, mem.kind.count, ty.btf === true), what: `${ty.name}.${name}` };
        return { k: "value", value: { ty: U64, op: reg(this.kernelFieldAddress(base, id, mem.path, mem.offset)) }, what: name };
      default:
        return this.report(e, D.KernelType, `${ty.name}.${name} has a type kernel programs cannot read yet`);
    }
    if (ty.btf) {
      // A BTF pointer: a direct load, its offset CO-RE-relocated (the verifier makes it fault-safe).
      const core = this.m.kernel.coreAccess("field_byte_offset", id, mem.path);
      return { k: "mem", base, offset: mem.offset, ty: mty, what: `${ty.name}.${name}`, readonly: true, core };
    }
    return { k: "kmem", base, rootId: id, path: mem.path, offset: mem.offset, size: mem.size, ty: mty, what: `${ty.name}.${name}` };
  }

  /** `base` + the CO-RE-relocated byte offset of the member at `path` of kernel type `rootId`. */
  kernelFieldAddress(base: VReg, rootId: number, path: readonly number[], localOffset: number): VReg {
    const off = this.b.reg();
    this.b.emit({ op: "coreValue", dst: off, core: this.m.kernel.coreAccess("field_byte_offset", rootId, path), value: BigInt(localOffset) });
    const addr = this.b.reg();
    this.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(base), b: reg(off) });
    return addr;
  }

  #contextField(e: ts.PropertyAccessExpression, name: string, ctx: Value): Place {
    const base = this.b.toReg(ctx.op);
    if (ctx.ty.k === "ctx" && ctx.ty.args) return this.#namedArgument(e, name, base);
    const shape = this.prog.context;
    switch (shape.k) {
      case "args":
        if (name === "args") return { k: "value", value: { ty: { k: "ctx", args: true }, op: reg(base) }, what: "ctx.args" };
        if (shape.ret && name === "ret") return this.#returnValue(e, base);
        break;
      case "pt_regs":
        if (name === "args") return { k: "value", value: { ty: { k: "ctx", args: true }, op: reg(base) }, what: "ctx.args" };
        break;
      case "fields": {
        const computed = shape.computed && Object.hasOwn(shape.computed, name) ? shape.computed[name]! : undefined;
        if (computed) return { k: "value", value: computed(this, base, e.name), what: `ctx.${name}` };
        const f = Object.hasOwn(shape.fields, name) ? shape.fields[name]! : undefined;
        if (!f) return this.report(e.name, D.TypeMismatch, `the ${shape.what} has no field "${name}"`);
        if (f.unavailable) this.report(e.name, D.TypeMismatch, f.unavailable);
        if (f.count) this.report(e, D.DynamicAccess, `ctx.${name} is an array of ${f.count} u${f.size * 8}; read an element with a constant index, ctx.${name}[0]`);
        const ty: Ty = { k: "int", bits: (f.size * 8) as 8 | 16 | 32 | 64, signed: f.signed ?? false };
        return { k: "mem", base, offset: f.offset, ty, what: `ctx.${name}`, readonly: !f.writable };
      }
      case "tracepoint": {
        const byFormat = tracefsField(this, e, name, base);
        if (byFormat) return byFormat;
        const loc = this.#dataLocMember(e, name);
        if (loc) return dataLocField(this, base, name, loc.mem, this.m.kernel.coreAccess("field_byte_offset", loc.id, loc.mem.path));
        const { kt, id, mem } = this.#tracepointMember(e, name);
        let ty: Ty;
        if (mem.kind.k === "int") ty = mem.kind.ty;
        else if (mem.kind.k === "ptr") ty = mem.kind.target ? { k: "kptr", ...mem.kind.target } : U64;
        else if (mem.kind.k === "array") {
          const addr = this.b.reg();
          this.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(base), b: imm(mem.offset) });
          return { k: "mem", base: addr, offset: 0, ty: { k: "mem", layout: bytesLayout(mem.size) }, what: `ctx.${name}`, readonly: true };
        } else this.report(e.name, D.KernelType, `${kt.name}.${name} cannot be read directly`);
        return { k: "mem", base, offset: mem.offset, ty, what: `ctx.${name}`, readonly: true, core: this.m.kernel.coreAccess("field_byte_offset", id, mem.path) };
      }
    }
    return this.report(e, D.TypeMismatch, `this context has no field "${name}"; use ctx.arg(n)`);
  }

  /** `ctx.<name>` standing for the record's `__data_loc_<name>` member (the struct has no `<name>`). */
  #dataLocMember(e: ts.PropertyAccessExpression, name: string): { id: number; mem: KernelMember } | undefined {
    const kt = KernelTypes.kernelName(this.checker.getTypeAtLocation(e.expression));
    const id = kt && this.m.kernel.find(kt.name, kt.btfKind);
    if (id === undefined || this.m.kernel.member(id, name)) return undefined;
    const mem = this.m.kernel.member(id, `__data_loc_${name}`);
    return mem && !mem.bitfield ? { id, mem } : undefined;
  }

  /** Member `name` of the tracepoint record struct that `e.expression` (the context) is typed as. */
  #tracepointMember(e: ts.PropertyAccessExpression, name: string): { kt: { name: string }; id: number; mem: KernelMember } {
    const kt = KernelTypes.kernelName(this.checker.getTypeAtLocation(e.expression));
    if (!kt) this.report(e, D.KernelType, `the context type of this tracepoint is unknown; is it in the kernel declarations (tsbpf gen --tracepoints)?`);
    const id = this.m.kernel.find(kt.name, kt.btfKind);
    if (id === undefined) this.report(e, D.KernelType, `${kt.name} is not in the kernel BTF`);
    const mem = this.m.kernel.member(id, name);
    if (!mem || mem.bitfield) this.report(e.name, D.KernelType, `${kt.name} has no readable member "${name}"`);
    return { kt, id, mem };
  }

  /** `ctx.args.<name>`: the argument's slot, typed by the declaration of the kernel function's arguments. */
  #namedArgument(e: ts.PropertyAccessExpression, name: string, base: VReg): Place {
    const props = this.checker.getTypeAtLocation(e.expression).getProperties();
    const i = props.findIndex((p) => p.name === name);
    const decl = props[i]?.declarations?.[0];
    if (i < 0 || !decl || !ts.isPropertySignature(decl) || !decl.type) {
      return this.report(e.name, D.KernelType, `the traced function has no argument "${name}" in the kernel declarations`);
    }
    let ty = this.m.typeOfNode(decl.type);
    // The verifier types these arguments from the same BTF prototype: kernel pointers are BTF pointers.
    if (ty.k === "kptr" && this.prog.btfPointers) ty = { ...ty, btf: true };
    // struct pt_regs (kprobes): argument i is in the i-th register of the calling convention.
    const regs = this.prog.context.k === "pt_regs" ? PT_REGS_X86.args : undefined;
    if (regs && i >= regs.length) this.report(e.name, D.Limit, `"${name}" is argument ${i + 1}; only the first ${regs.length} arguments are in registers (use fentry for the others)`);
    return { k: "value", value: argumentValue(this, base, regs ? regs[i]! : i * 8, ty, e), what: `ctx.args.${name}` };
  }

  /** fexit's `ctx.ret`: the slot after the arguments, typed by the function's declared return type. */
  #returnValue(e: ts.PropertyAccessExpression, base: VReg): Place {
    // The declaration is `"fn": { args: { a: T; ... }; ret: R }` in the kernel declarations; reach it
    // through an argument's declaration (the context's own `ret` is a generic indexed access).
    const args = this.checker.getTypeAtLocation(e.expression).getProperty("args");
    const params = args ? this.checker.getTypeOfSymbolAtLocation(args, e).getProperties() : [];
    const entry = params[0]?.declarations?.[0]?.parent?.parent?.parent;
    const ret = entry && ts.isTypeLiteralNode(entry)
      ? entry.members.find((m): m is ts.PropertySignature => ts.isPropertySignature(m) && m.name.getText() === "ret")
      : undefined;
    if (!ret?.type) {
      return this.report(e, D.KernelType, "the traced function's prototype is not in the kernel declarations; use ctx.arg(n) with n = its argument count");
    }
    if (ret.type.kind === ts.SyntaxKind.VoidKeyword) return this.report(e, D.KernelType, "the traced function returns void");
    const n = params.length;
    return { k: "value", value: argumentValue(this, base, n * 8, this.m.typeOfNode(ret.type), e), what: "ctx.ret" };
  }

  /**
   * `ctx.field[i]` on a tracepoint record: the verifier only allows loads at a constant offset from the
   * context pointer itself, so a constant index is one CO-RE-relocated load of the element, and a
   * dynamic index works on a copy of the array on the stack.
   */
  #contextArrayElement(e: ts.ElementAccessExpression): Place | undefined {
    const shape = this.prog.context;
    if ((shape.k !== "tracepoint" && shape.k !== "fields") || !ts.isPropertyAccessExpression(e.expression)) return undefined;
    const inner = skipParens(e.expression.expression);
    const sym = ts.isIdentifier(inner) ? this.m.consts.resolveSymbol(inner) : undefined;
    const local = sym && this.#lookup(sym);
    if (local?.k !== "reg" || local.ty.k !== "ctx") return undefined;
    const name = e.expression.name.text;
    if (shape.k === "fields") return this.#fieldArrayElement(e, shape.fields, name, local.reg);
    const { id, mem } = this.#tracepointMember(e.expression, name);
    if (mem.kind.k !== "array") return undefined;
    const elem = mem.kind.elem ?? U8;
    const count = mem.kind.count ?? mem.size;
    const esize = elem.bits / 8;
    const idx = this.value(this.expr(e.argumentExpression), e.argumentExpression);
    if ("imm" in idx.op) {
      const i = Number(idx.op.imm);
      if (i < 0 || i >= count) this.report(e.argumentExpression, D.ConstantRange, `index ${i} is out of bounds (length ${count})`);
      const core = mem.kind.elem ? this.m.kernel.coreAccess("field_byte_offset", id, [...mem.path, i]) : undefined;
      return { k: "mem", base: local.reg, offset: mem.offset + i * esize, ty: elem, what: `ctx.${name}[${i}]`, readonly: true, ...(core ? { core } : {}) };
    }
    // Copy the array out of the record (constant-offset loads), then index the copy.
    const slot = this.b.slot(Math.ceil(mem.size / 8) * 8, 8, name);
    const copy = this.b.reg();
    this.b.emit({ op: "stackAddr", dst: copy, slot, offset: 0 });
    this.copy(copy, local.reg, mem.size, mem.offset);
    const layout = arrayLayoutOf(elem, count);
    return this.#index(e, { ty: { k: "mem", layout }, op: reg(copy) }, idx);
  }

  /**
   * `ctx.field[i]` on a fixed context struct's array field (`user_ip6[4]`): the kernel checks context
   * accesses at constant offsets, so the index is a constant and the element one load or store.
   */
  #fieldArrayElement(e: ts.ElementAccessExpression, fields: Readonly<Record<string, ContextField>>, name: string, ctx: VReg): Place | undefined {
    const f = Object.hasOwn(fields, name) ? fields[name]! : undefined;
    if (!f?.count) return undefined;
    if (f.unavailable) this.report(e.expression, D.TypeMismatch, f.unavailable);
    const i = this.m.consts.tryEvaluate(e.argumentExpression);
    if (typeof i !== "number") return this.report(e.argumentExpression, D.DynamicAccess, `ctx.${name}[i] needs a constant index: the kernel checks context accesses at fixed offsets`);
    if (!Number.isInteger(i) || i < 0 || i >= f.count) this.report(e.argumentExpression, D.ConstantRange, `index ${i} is out of bounds (length ${f.count})`);
    const ty: Ty = { k: "int", bits: (f.size * 8) as 8 | 16 | 32 | 64, signed: f.signed ?? false };
    return { k: "mem", base: ctx, offset: f.offset + i * f.size, ty, what: `ctx.${name}[${i}]`, readonly: !f.writable };
  }

  #element(e: ts.ElementAccessExpression): Place {
    const fromContext = this.#contextArrayElement(e);
    if (fromContext) return fromContext;
    const obj = this.expr(e.expression);
    if (obj.ty.k === "karray") return kernelArrayElement(this, e, obj, this.value(this.expr(e.argumentExpression), e.argumentExpression));
    if (obj.ty.k !== "mem") this.report(e, D.DynamicAccess, `cannot index ${showTy(obj.ty)}`);
    const info = arrayInfo(obj.ty.layout);
    if (!info) this.report(e, D.DynamicAccess, "only arrays and byte arrays can be indexed; struct fields are read by name");
    return this.#index(e, obj, this.value(this.expr(e.argumentExpression), e.argumentExpression));
  }

  /** Element `idx` of the array value `obj` (a constant index is checked, a dynamic one clamped). */
  #index(e: ts.ElementAccessExpression, obj: Value, idx: Value): Place {
    if (obj.ty.k !== "mem") this.report(e, D.DynamicAccess, `cannot index ${showTy(obj.ty)}`);
    const info = arrayInfo(obj.ty.layout)!;
    const elemTy = tyOfLayout(info.element);
    const base = this.b.toReg(obj.op);
    if ("imm" in idx.op) {
      const i = Number(idx.op.imm);
      if (i < 0 || i >= info.length) this.report(e.argumentExpression, D.ConstantRange, `index ${i} is out of bounds (length ${info.length})`);
      return { k: "mem", base, offset: i * info.element.size, ty: elemTy, what: obj.ty.readonly ? "an element of a constant (.rodata)" : "element", ...(obj.ty.readonly ? { readonly: true } : {}) };
    }
    // Dynamic index: clamp by construction; out-of-range indexes read/write the last element's
    // guard instead of faulting. We branch so the verifier sees the bound.
    const it = this.intOf(idx, e.argumentExpression);
    const i64 = this.b.reg();
    if (it.bits === 64) this.b.mov(i64, idx.op);
    else this.b.emit({ op: "ext", dst: i64, src: (idx.op as { reg: VReg }).reg, from: 32, signed: false });
    const ok = this.b.block(), bad = this.b.block(), join = this.b.block();
    const addr = this.b.reg();
    this.b.terminate({ op: "br", cond: "lt", bits: 64, a: i64, b: imm(info.length), then: ok, else: bad });
    this.b.setBlock(ok);
    const off = this.b.reg();
    this.b.emit({ op: "alu", alu: "mul", bits: 64, dst: off, a: reg(i64), b: imm(info.element.size) });
    this.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(base), b: reg(off) });
    this.b.jumpTo(join);
    this.b.setBlock(bad);
    // Out of bounds: the access goes to element 0 of a zeroed scratch slot.
    const scratch = this.b.slot(info.element.size, info.element.align, "oob");
    this.b.emit({ op: "stackAddr", dst: addr, slot: scratch, offset: 0 });
    this.zeroFill(addr, info.element.size);
    this.b.jumpTo(join);
    this.b.setBlock(join);
    return { k: "mem", base: addr, offset: 0, ty: elemTy, what: obj.ty.readonly ? "an element of a constant (.rodata)" : "element", ...(obj.ty.readonly ? { readonly: true } : {}) };
  }

  /**
   * The value of a register local as of now. Evaluation is strictly left to right, so an operand read
   * before a later side effect in the same expression (`a + a++`, `b + (b = 5)`, `f += f++`) must keep
   * the value it had: a mutable local is read into a new register (the optimizer removes the copy when
   * nothing changes the variable in between).
   */
  #snapshot(local: Extract<Local, { k: "reg" }>): Value {
    if (!local.mutable) return { ty: local.ty, op: reg(local.reg) };
    const r = this.b.reg();
    this.b.mov(r, reg(local.reg));
    return { ty: local.ty, op: reg(r) };
  }

  /** Reads a place as a value (scalars are loaded; aggregates evaluate to their address). */
  read(p: Place, node: ts.Node): Value {
    if (p.k === "local") return this.#snapshot(p.local);
    if (p.k === "value") return p.value;
    if (p.k === "kmem") return this.#kernelRead(p);
    const ty = p.ty;
    if (ty.k === "mem") {
      const t = p.readonly && !ty.readonly ? { ...ty, readonly: true as const } : ty;
      if (p.offset === 0) return { ty: t, op: reg(p.base) };
      const r = this.b.reg();
      this.b.emit({ op: "alu", alu: "add", bits: 64, dst: r, a: reg(p.base), b: imm(p.offset) });
      return { ty: t, op: reg(r) };
    }
    if (ty.k === "int" || ty.k === "bool" || ty.k === "kptr") {
      const size = ty.k === "int" ? (ty.bits / 8) as 1 | 2 | 4 | 8 : ty.k === "bool" ? 1 : 8;
      const dst = this.b.reg();
      this.b.emit({ op: "load", size, dst, base: p.base, offset: p.offset, ...(p.core ? { core: p.core } : {}) });
      if (ty.k === "int" && ty.signed && ty.bits < 64) {
        const s = this.b.reg();
        this.b.emit({ op: "ext", dst: s, src: dst, from: ty.bits as 8 | 16 | 32, signed: true });
        return { ty, op: reg(s) };
      }
      return { ty, op: reg(dst) };
    }
    return this.report(node, D.UnsupportedType, `cannot read ${showTy(ty)}`);
  }

  #kernelRead(p: Extract<Place, { k: "kmem" }>): Value {
    const size = p.size;
    const slot = this.b.slot(8, 8, "kread");
    const dstAddr = this.b.reg();
    this.b.emit({ op: "stackAddr", dst: dstAddr, slot, offset: 0 });
    let src: VReg;
    if (p.rootId !== undefined && p.path) src = this.kernelFieldAddress(p.base, p.rootId, p.path, p.offset);
    else if (p.offset) {
      src = this.b.reg();
      this.b.emit({ op: "alu", alu: "add", bits: 64, dst: src, a: reg(p.base), b: imm(p.offset) });
    } else src = p.base;
    if (size < 8) this.b.emit({ op: "store", size: 8, base: dstAddr, offset: 0, value: imm(0) });
    this.b.emit({ op: "call", helper: HELPER_IDS.probe_read_kernel, args: [reg(dstAddr), imm(size), reg(src)] });
    const v = this.b.reg();
    const loadSize = (size >= 8 ? 8 : size >= 4 ? 4 : size >= 2 ? 2 : 1) as 1 | 2 | 4 | 8;
    this.b.emit({ op: "load", size: loadSize, dst: v, base: dstAddr, offset: 0 });
    if (p.ty.k === "int" && p.ty.signed && p.ty.bits < 64) {
      const s = this.b.reg();
      this.b.emit({ op: "ext", dst: s, src: v, from: p.ty.bits as 8 | 16 | 32, signed: true });
      return { ty: p.ty, op: reg(s) };
    }
    return { ty: p.ty, op: reg(v) };
  }

  /** A copy of kernel array `v` in a new stack slot, as `layout` (an array at least as long). */
  #kernelArrayCopy(v: Value, layout: AnyLayout, node: ts.Node): Value {
    const slot = this.b.slot(Math.ceil(layout.size / 8) * 8, 8, "kernel array");
    const addr = this.b.reg();
    this.b.emit({ op: "stackAddr", dst: addr, slot, offset: 0 });
    copyKernelArray(this, addr, layout, 8, v, node, arrayInfo(layout));
    return { ty: { k: "mem", layout }, op: reg(addr) };
  }

  /** Writes a value to a place. */
  write(p: Place, v: Value, node: ts.Node): void {
    if (p.k === "kmem" || p.k === "value" || (p.k === "mem" && p.readonly)) this.report(node, D.TypeMismatch, `${p.what} is read-only`);
    if (p.k === "local") {
      if (!p.local.mutable) this.report(node, D.TypeMismatch, `"${p.local.name}" is a constant`);
      if (p.local.ty.k === "ref" && v.ty.k !== "ref" && v.ty.k !== "null") {
        this.report(node, D.TypeMismatch, `"${p.local.name}" is a live reference into a map value, so it only takes another lookup's result or null; change the map with update(key, value) or increment(key), or compute in a copy (let n = ${p.local.name})`);
      }
      const c = this.coerce(v, p.local.ty, node);
      this.b.mov(p.local.reg, this.operandOf(c, node));
      return;
    }
    const ty = p.ty;
    if (ty.k === "mem") {
      if (v.ty.k === "karray") {
        const dst = this.b.reg();
        this.b.emit({ op: "alu", alu: "add", bits: 64, dst, a: reg(p.base), b: imm(p.offset) });
        copyKernelArray(this, dst, ty.layout, ty.layout.align, v, node, arrayInfo(ty.layout));
        return;
      }
      // Aggregate assignment copies the bytes.
      const src = this.coerce(v, ty, node);
      const dst = this.b.reg();
      if (p.offset) this.b.emit({ op: "alu", alu: "add", bits: 64, dst, a: reg(p.base), b: imm(p.offset) });
      else this.b.mov(dst, reg(p.base));
      this.copy(dst, this.b.toReg(src.op), ty.layout.size, 0, ty.layout.align);
      return;
    }
    const c = this.coerce(v, ty, node, true);
    const size = ty.k === "int" ? (ty.bits / 8) as 1 | 2 | 4 | 8 : ty.k === "bool" ? 1 : 8;
    let value = this.operandOf(c, node);
    if ("imm" in value) {
      const sv = BigInt.asIntN(size * 8, value.imm);
      if (size === 8 && (sv < -(2n ** 31n) || sv >= 2n ** 31n)) value = reg(this.b.toReg(value));
      else value = imm(sv);
    }
    this.b.emit({ op: "store", size, base: p.base, offset: p.offset, value, ...(p.core ? { core: p.core } : {}) });
  }

  /**
   * Copies `size` bytes from `src + srcOffset` to `dst` (both addresses of direct memory), in the widest
   * accesses aligned at both ends: neither address is known to be aligned beyond `align` (the value's
   * layout alignment: a 4-aligned struct may sit at offset 4 of a stack slot, where an 8-byte access is
   * refused), and a context must be read at constant, aligned offsets from its pointer.
   */
  copy(dst: VReg, src: VReg, size: number, srcOffset = 0, align = 8): void {
    for (let off = 0; off < size;) {
      const w = ([8, 4, 2, 1] as const).find((n) => n <= align && size - off >= n && (srcOffset + off) % n === 0 && off % n === 0)!;
      const t = this.b.reg();
      this.b.emit({ op: "load", size: w, dst: t, base: src, offset: srcOffset + off });
      this.b.emit({ op: "store", size: w, base: dst, offset: off, value: reg(t) });
      off += w;
    }
  }

  /** Zeroes `size` bytes at `addr`. */
  zeroFill(addr: VReg, size: number): void {
    let off = 0;
    for (const w of [8, 4, 2, 1] as const) {
      while (size - off >= w) {
        this.b.emit({ op: "store", size: w, base: addr, offset: off, value: imm(0) });
        off += w;
      }
    }
  }

  /** A new zeroed stack object of `layout`; returns its address register. */
  zeroed(layout: AnyLayout, name?: string): VReg {
    // Whole 8-byte words are zeroed, so the slot is 8-aligned and rounded up to them (a u16[3] literal
    // would otherwise get a 2-aligned 6-byte slot: misaligned stores past its end).
    const size = (layout.size + 7) & ~7;
    const slot = this.b.slot(size, 8, name);
    const addr = this.b.reg();
    this.b.emit({ op: "stackAddr", dst: addr, slot, offset: 0 });
    this.zeroFill(addr, size);
    return addr;
  }

  /** Materializes a scalar value: references are loaded, booleans and integers pass through. */
  value(v: Value, node: ts.Node): Value {
    if (v.ty.k === "ref") {
      const to = v.ty.to;
      const dst = this.b.reg();
      const size = to.k === "bool" ? 1 : ((to.bits / 8) as 1 | 2 | 4 | 8);
      this.b.emit({ op: "load", size, dst, base: this.b.toReg(v.op), offset: 0 });
      if (to.k === "int" && to.signed && to.bits < 64) {
        const s = this.b.reg();
        this.b.emit({ op: "ext", dst: s, src: dst, from: to.bits as 8 | 16 | 32, signed: true });
        return { ty: to, op: reg(s) };
      }
      return { ty: to, op: reg(dst) };
    }
    return v;
  }

  /** The operand of a value, as stored in a register or immediate. */
  operandOf(v: Value, node: ts.Node): Operand {
    if (v.ty.k === "map" || v.ty.k === "layout" || v.ty.k === "str") this.report(node, D.TypeMismatch, `${showTy(v.ty)} is not a value`);
    return v.op;
  }

  /**
   * Converts `v` to type `to`: literals are range-checked and wrapped, narrower integer variables are
   * truncated (`forStore` skips truncation: the store width does it).
   */
  coerce(v: Value, to: Ty, node: ts.Node, forStore = false): Value {
    if (to.k === "int") {
      v = this.value(v, node);
      if (v.ty.k === "lit") {
        const x = (v.op as { imm: bigint }).imm;
        const r = intRange(to);
        if (x < r.min || x > r.max) {
          this.report(node, D.ConstantRange, `${showConstant(x)} does not fit in ${showTy(to)} (${r.min}..${r.max}); use a constant in range, or convert explicitly: ${showTy(to)}(${x}) wraps it`);
        }
        return { ty: to, op: imm(x) };
      }
      if (v.ty.k === "bool") return { ty: to, op: v.op };
      if (v.ty.k !== "int") this.report(node, D.TypeMismatch, `expected ${showTy(to)}, got ${showTy(v.ty)}`);
      if (!forStore && to.bits < 32 && (v.ty.bits > to.bits || v.ty.signed !== to.signed)) {
        const r = this.b.reg();
        this.b.emit({ op: "ext", dst: r, src: this.b.toReg(v.op), from: to.bits as 8 | 16, signed: to.signed });
        return { ty: to, op: reg(r) };
      }
      return { ty: to, op: v.op };
    }
    if (to.k === "bool") {
      v = this.value(v, node);
      if (v.ty.k === "bool") return v;
      this.report(node, D.TypeMismatch, `expected a boolean, got ${showTy(v.ty)}`);
    }
    if (to.k === "mem") {
      if (v.ty.k === "null") return { ty: to, op: imm(0) };
      if (v.ty.k === "karray") return this.#kernelArrayCopy(v, to.layout, node);
      if (v.ty.k !== "mem") this.report(node, D.TypeMismatch, `expected ${showTy(to)}, got ${showTy(v.ty)}`);
      if (v.ty.layout !== to.layout && v.ty.layout.size !== to.layout.size) this.report(node, D.TypeMismatch, `expected ${showTy(to)}, got ${showTy(v.ty)}`);
      return v;
    }
    return v;
  }

  #binary(e: ts.BinaryExpression, expected: Ty | undefined, discard: boolean): Value {
    const op = e.operatorToken.kind;
    if (op === ts.SyntaxKind.EqualsToken) {
      const p = this.place(e.left);
      const target = p.k === "local" ? p.local.ty : p.k === "value" ? p.value.ty : p.ty;
      const v = this.expr(e.right, target);
      this.write(p, v, e);
      return discard ? { ty: VOID, op: imm(0) } : this.read(p, e);
    }
    const compound = COMPOUND.get(op);
    if (compound !== undefined) {
      const p = this.place(e.left);
      const cur = this.value(this.read(p, e.left), e.left);
      const rhs = this.value(this.expr(e.right, cur.ty), e.right);
      const v = this.arith(compound, cur, rhs, e);
      this.write(p, v, e);
      return discard ? { ty: VOID, op: imm(0) } : this.read(p, e);
    }
    if (op === ts.SyntaxKind.CommaToken) {
      this.expr(e.left, undefined, true);
      return this.expr(e.right, expected, discard);
    }
    if (op === ts.SyntaxKind.QuestionQuestionToken) return this.#coalesce(e, expected);
    if (isComparison(op) || op === ts.SyntaxKind.AmpersandAmpersandToken || op === ts.SyntaxKind.BarBarToken) return this.boolOf(e);
    if (op === ts.SyntaxKind.AsteriskAsteriskToken) this.report(e.operatorToken, D.Operator, "`**` is not supported; multiply or shift");
    if (op === ts.SyntaxKind.InKeyword || op === ts.SyntaxKind.InstanceOfKeyword) this.report(e.operatorToken, D.Operator, `\`${e.operatorToken.getText()}\` is not supported in kernel programs`);
    const a = this.value(this.expr(e.left, expected), e.left);
    const b = this.value(this.expr(e.right, a.ty.k === "lit" ? expected : a.ty), e.right);
    const alu = BINARY.get(op);
    if (!alu) this.report(e.operatorToken, D.Operator, `operator ${e.operatorToken.getText()} is not supported`);
    return this.arith(alu, a, b, e);
  }

  /** Materializes a condition as a 0/1 boolean. */
  boolOf(e: ts.Expression): Value {
    const t = this.b.block(), f = this.b.block(), join = this.b.block();
    const r = this.b.reg();
    this.cond(e, t, f);
    this.b.setBlock(t);
    this.b.mov(r, imm(1));
    this.b.jumpTo(join);
    this.b.setBlock(f);
    this.b.mov(r, imm(0));
    this.b.jumpTo(join);
    this.b.setBlock(join);
    return { ty: BOOL, op: reg(r) };
  }

  /** Integer arithmetic with C's conversions (and constant folding). */
  arith(op: ArithOp, a: Value, b: Value, node: ts.Node): Value {
    if (a.ty.k === "bool" || b.ty.k === "bool") this.report(node, D.TypeMismatch, "arithmetic on booleans is not supported; use a conditional");
    if (a.ty.k === "lit" && b.ty.k === "lit") {
      const x = (a.op as { imm: bigint }).imm, y = (b.op as { imm: bigint }).imm;
      return { ty: a.ty.big || b.ty.big ? BIGLIT : LIT, op: imm(foldArith(op, x, y, a.ty.big || b.ty.big)) };
    }
    const shift = op === "lsh" || op === "rsh" || op === "arsh" || op === "shr";
    let ty: IntTy;
    if (shift) {
      // A shift has the type of its (promoted) left operand; `>>>` is logical and its result unsigned.
      ty = a.ty.k === "lit" ? this.#ownType(a, node) : promote(this.intOf(a, node));
      if (op === "shr") ty = { ...ty, signed: false };
      if (b.ty.k === "lit") {
        const n = (b.op as { imm: bigint }).imm;
        if (n < 0n || n >= BigInt(ty.bits)) this.report(node, D.ConstantRange, `shift count ${n} is out of range for ${showTy(ty)} (0..${ty.bits - 1})`);
      } else this.intOf(b, node);
    } else if (a.ty.k === "lit") ty = this.#literalPartner(a, promote(this.intOf(b, node)), node);
    else if (b.ty.k === "lit") ty = this.#literalPartner(b, promote(this.intOf(a, node)), node);
    else ty = arithmeticType(this.intOf(a, node), this.intOf(b, node));
    const bits = ty.bits === 64 ? 64 : 32;
    let alu: AluOp;
    switch (op) {
      case "div": alu = ty.signed ? "sdiv" : "div"; break;
      case "mod": alu = ty.signed ? "smod" : "mod"; break;
      case "rsh": alu = ty.signed ? "arsh" : "rsh"; break;
      case "shr": alu = "rsh"; break;
      default: alu = op;
    }
    const norm = (v: Value): Operand => ("imm" in v.op ? imm(bits === 32 ? BigInt.asIntN(32, v.op.imm) : BigInt.asIntN(64, v.op.imm)) : v.op);
    let ao = norm(a), bo = norm(b);
    if ("imm" in ao && COMMUTATIVE.has(alu)) [ao, bo] = [bo, ao];
    const dst = this.b.reg();
    this.b.emit({ op: "alu", alu, bits, dst, a: ao, b: bo });
    return { ty, op: reg(dst) };
  }

  /**
   * The type a constant takes next to an operand of (promoted) type `ty`: `ty` itself, and the constant
   * must be one of its values — C would silently convert `0x80000000` to a negative i32 or `-1` to a
   * huge u32 there, and TypeScript compares the mathematical values: both readings can't hold, so the
   * program must say which it means.
   */
  #literalPartner(lit: Value, ty: IntTy, node: ts.Node): IntTy {
    const v = (lit.op as { imm: bigint }).imm;
    if (!fits(v, ty)) {
      const r = intRange(ty);
      this.report(node, D.ConstantRange, `the constant ${showConstant(v)} is not a value of ${showTy(ty)}, the type of this operation (${r.min}..${r.max}); convert the other operand first (e.g. ${ty.bits === 64 ? "u64(x) or i64(x)" : ty.signed ? "u32(x) or i64(BigInt(x))" : "i32(x) or BigInt(x)"}) or use a constant in range`);
    }
    return ty;
  }

  /** The type of a constant with no typed operand beside it: the first of i32, u32 (i64, u64) holding it. */
  #ownType(lit: Value, node: ts.Node): IntTy {
    const v = (lit.op as { imm: bigint }).imm;
    const big = lit.ty.k === "lit" && lit.ty.big;
    const t = literalType(big, v);
    if (!t) this.report(node, D.ConstantRange, `the constant ${showConstant(v)} does not fit in ${big ? "64" : "32"} bits${big ? "" : "; write it as a bigint (with n) and compute in u64/i64"}`);
    return t;
  }

  #prefix(e: ts.PrefixUnaryExpression, expected: Ty | undefined, discard: boolean): Value {
    switch (e.operator) {
      case ts.SyntaxKind.PlusPlusToken:
        return this.#increment(e.operand, "add", false, e, discard);
      case ts.SyntaxKind.MinusMinusToken:
        return this.#increment(e.operand, "sub", false, e, discard);
      case ts.SyntaxKind.ExclamationToken:
        return this.boolOf(e);
      case ts.SyntaxKind.PlusToken:
        return this.expr(e.operand, expected);
      case ts.SyntaxKind.MinusToken: {
        const v = this.value(this.expr(e.operand, expected), e.operand);
        if (v.ty.k === "lit") return { ty: v.ty, op: imm(-(v.op as { imm: bigint }).imm) };
        const ty = promote(this.intOf(v, e));
        const dst = this.b.reg();
        this.b.emit({ op: "neg", bits: ty.bits === 64 ? 64 : 32, dst, src: this.b.toReg(v.op) });
        return { ty, op: reg(dst) };
      }
      case ts.SyntaxKind.TildeToken: {
        const v = this.value(this.expr(e.operand, expected), e.operand);
        if (v.ty.k === "lit") return { ty: v.ty, op: imm(~(v.op as { imm: bigint }).imm) };
        const ty = promote(this.intOf(v, e));
        const dst = this.b.reg();
        this.b.emit({ op: "alu", alu: "xor", bits: ty.bits === 64 ? 64 : 32, dst, a: v.op, b: imm(-1) });
        return { ty, op: reg(dst) };
      }
    }
    return this.report(e, D.Operator, "unsupported operator");
  }

  #increment(operand: ts.Expression, alu: "add" | "sub", postfix: boolean, node: ts.Node, discard = false): Value {
    const p = this.place(operand);
    const cur = this.value(this.read(p, operand), operand);
    let old: Value | undefined;
    if (postfix && !discard) {
      const r = this.b.reg();
      this.b.mov(r, cur.op);
      old = { ty: cur.ty, op: reg(r) };
    }
    const next = this.arith(alu, cur, { ty: LIT, op: imm(1) }, node);
    this.write(p, next, node);
    if (discard) return { ty: VOID, op: imm(0) };
    return old ?? this.read(p, node);
  }

  #conditional(e: ts.ConditionalExpression, expected: Ty | undefined): Value {
    const t = this.b.block(), f = this.b.block(), join = this.b.block();
    const r = this.b.reg();
    this.cond(e.condition, t, f);
    this.b.setBlock(t);
    let a = this.value(this.expr(e.whenTrue, expected), e.whenTrue);
    const tEnd = this.b.current;
    this.b.setBlock(f);
    let bv = this.value(this.expr(e.whenFalse, expected ?? (a.ty.k === "lit" ? undefined : a.ty)), e.whenFalse);
    const fEnd = this.b.current;
    const ty = this.#conditionalType(e, a, bv, expected);
    this.b.setBlock(tEnd);
    a = this.coerce(a, ty, e.whenTrue);
    this.b.mov(r, this.operandOf(a, e.whenTrue));
    this.b.jumpTo(join);
    this.b.setBlock(fEnd);
    bv = this.coerce(bv, ty, e.whenFalse);
    this.b.mov(r, this.operandOf(bv, e.whenFalse));
    this.b.jumpTo(join);
    this.b.setBlock(join);
    return { ty, op: reg(r) };
  }

  /**
   * The type of `c ? a : b`: the usual arithmetic conversion of both branches for integers (a constant
   * branch takes the other branch's promoted type and must be one of its values); two constant
   * branches take the expected type when both fit it, else the first of i32, u32 (i64, u64) holding both.
   */
  #conditionalType(e: ts.ConditionalExpression, a: Value, b: Value, expected: Ty | undefined): Ty {
    const num = (t: Ty): boolean => t.k === "int" || t.k === "lit";
    if (num(a.ty) && num(b.ty)) {
      if (a.ty.k === "int" && b.ty.k === "int") return arithmeticType(a.ty, b.ty);
      if (a.ty.k === "int") return this.#literalPartner(b, promote(a.ty), e.whenFalse);
      if (b.ty.k === "int") return this.#literalPartner(a, promote(b.ty), e.whenTrue);
      const x = (a.op as { imm: bigint }).imm, y = (b.op as { imm: bigint }).imm;
      if (expected?.k === "int" && fits(x, expected) && fits(y, expected)) return expected;
      const big = (a.ty.k === "lit" && a.ty.big) || (b.ty.k === "lit" && b.ty.big);
      const t = literalType(big, x, y);
      if (!t) this.report(e, D.ConstantRange, `no ${big ? "64" : "32"}-bit integer type holds both ${showConstant(x)} and ${showConstant(y)}`);
      return t;
    }
    if (a.ty.k === "lit") return b.ty;
    return a.ty;
  }

  #coalesce(e: ts.BinaryExpression, expected: Ty | undefined): Value {
    const left = this.expr(e.left);
    if (left.ty.k !== "ref" && left.ty.k !== "mem" && left.ty.k !== "kptr") {
      return this.value(left, e.left); // never null: TypeScript already flags it
    }
    const r = this.b.reg();
    const some = this.b.block(), none = this.b.block(), join = this.b.block();
    const addr = this.b.toReg(left.op);
    this.b.terminate({ op: "br", cond: "ne", bits: 64, a: addr, b: imm(0), then: some, else: none });
    this.b.setBlock(some);
    const lv = this.value(left, e.left);
    const ty: Ty = lv.ty.k === "mem" || lv.ty.k === "kptr" ? lv.ty : lv.ty;
    this.b.mov(r, lv.op);
    this.b.jumpTo(join);
    this.b.setBlock(none);
    const rv = this.coerce(this.value(this.expr(e.right, expected ?? ty), e.right), ty, e.right);
    this.b.mov(r, this.operandOf(rv, e.right));
    this.b.jumpTo(join);
    this.b.setBlock(join);
    return { ty, op: reg(r) };
  }

  /** `{ a: 1, b: x }` as a new zeroed stack object of the expected struct type. */
  objectLiteral(e: ts.ObjectLiteralExpression, expected: Ty | undefined): Value {
    if (!expected || expected.k !== "mem") this.report(e, D.UnsupportedType, "an object literal needs a known struct type here (annotate the variable with the struct's type)");
    const addr = this.zeroed(expected.layout);
    this.#fillObject(e, expected, addr, 0);
    return { ty: expected, op: reg(addr) };
  }

  /**
   * Writes the fields of struct literal `e` into zeroed memory at `base + offset`. Nested struct and
   * array literals are built in place (no temporary of their own: four 104-byte structs of nested
   * literals take 416 bytes of stack, not twice that).
   */
  #fillObject(e: ts.ObjectLiteralExpression, expected: Extract<Ty, { k: "mem" }>, base: VReg, offset: number): void {
    const layout = expected.layout;
    for (const prop of e.properties) {
      let name: string;
      let init: ts.Expression;
      if (ts.isPropertyAssignment(prop) && (ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name))) {
        name = prop.name.text;
        init = prop.initializer;
      } else if (ts.isShorthandPropertyAssignment(prop)) {
        name = prop.name.text;
        init = prop.name;
      } else this.report(prop, D.UnsupportedSyntax, "only `name: value` properties are supported in struct literals");
      const f = fieldOf(layout, name);
      if (!f) this.report(prop, D.TypeMismatch, `${showTy(expected)} has no field "${name}"`);
      const place: Place = { k: "mem", base, offset: offset + f.offset, ty: tyOfLayout(f.layout), what: name };
      if (this.#fillInPlace(init, place)) continue;
      const shorthand = ts.isShorthandPropertyAssignment(prop) ? this.checker.getShorthandAssignmentValueSymbol(prop) : undefined;
      const v = shorthand ? this.#identifier(prop.name as ts.Identifier, shorthand) : this.expr(init, place.ty);
      if (place.ty.k === "mem" && v.ty.k === "lit" && (v.op as { imm: bigint }).imm === 0n) continue;
      this.write(place, v, init);
    }
  }

  /** Builds a struct or array literal `init` directly in `place` (zeroed memory); false when it is not one. */
  #fillInPlace(init: ts.Expression, place: Extract<Place, { k: "mem" }>): boolean {
    const lit = skipParens(init);
    if (place.ty.k !== "mem") return false;
    if (ts.isObjectLiteralExpression(lit) && !arrayInfo(place.ty.layout)) {
      this.at(lit);
      this.#fillObject(lit, place.ty, place.base, place.offset);
      return true;
    }
    if (ts.isArrayLiteralExpression(lit) && arrayInfo(place.ty.layout)) {
      this.at(lit);
      this.#fillArray(lit, place.ty, place.base, place.offset);
      return true;
    }
    return false;
  }

  #arrayLiteral(e: ts.ArrayLiteralExpression, expected: Ty | undefined): Value {
    const info = expected?.k === "mem" ? arrayInfo(expected.layout) : undefined;
    if (!info || !expected || expected.k !== "mem") return this.report(e, D.UnsupportedType, "an array literal needs a known fixed-size array type here");
    const addr = this.zeroed(expected.layout);
    this.#fillArray(e, expected, addr, 0);
    return { ty: expected, op: reg(addr) };
  }

  /** Writes the elements of array literal `e` into zeroed memory at `base + offset` (nested literals in place). */
  #fillArray(e: ts.ArrayLiteralExpression, expected: Extract<Ty, { k: "mem" }>, base: VReg, offset: number): void {
    const info = arrayInfo(expected.layout)!;
    if (e.elements.length > info.length) this.report(e, D.ConstantRange, `${e.elements.length} elements do not fit in an array of ${info.length}`);
    const et = tyOfLayout(info.element);
    e.elements.forEach((el, i) => {
      if (ts.isSpreadElement(el) || ts.isOmittedExpression(el)) this.report(el, D.UnsupportedSyntax, "spread and holes are not supported in array literals");
      const place: Extract<Place, { k: "mem" }> = { k: "mem", base, offset: offset + i * info.element.size, ty: et, what: `[${i}]` };
      if (!this.#fillInPlace(el, place)) this.write(place, this.expr(el, et), el);
    });
  }

  // ------------------------------------------------------------------------------------------------
  // User functions (inlined).

  /** Lowers a call to a module-level user function: inlined, or a bpf-to-bpf call (subprograms.ts). */
  inlineCall(decl: ts.FunctionDeclaration, call: ts.CallExpression): Value {
    if (this.#inline.some((f) => f.decl === decl)) this.report(call, D.Limit, `recursive call of ${decl.name?.text ?? "function"}: eBPF has no recursion`);
    if (this.#inline.length > 16) this.report(call, D.Limit, "calls nested too deeply");
    if (!decl.body) this.report(call, D.UnsupportedSyntax, "the called function has no body");
    if (decl.asteriskToken || decl.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) this.report(decl, D.Async, "async functions and generators are not supported");
    const resultTy: Ty = decl.type ? (decl.type.kind === ts.SyntaxKind.VoidKeyword ? VOID : this.m.typeOfNode(decl.type)) : VOID;
    if (!decl.type && hasValueReturn(decl.body)) this.report(decl.name ?? decl, D.UnsizedType, `annotate the return type of ${decl.name?.text ?? "this function"} (e.g. \`: u32\`)`);
    const sub = this.m.subprograms?.target(this, decl, call, resultTy);
    const args = call.arguments.map((a, i) => {
      const p = decl.parameters[i];
      const pty = p?.type ? this.m.typeOfNode(p.type) : undefined;
      if (p && !pty) this.report(p, D.UnsizedType, `annotate the type of parameter ${p.name.getText()}`);
      const v = this.expr(a, pty);
      return pty ? this.coerce(this.value(v, a), pty, a) : v;
    });
    if (sub) {
      const ops = decl.parameters.map((p, i) => {
        let v = args[i];
        if (!v) {
          if (!p.initializer) this.report(call, D.TypeMismatch, `missing argument ${p.name.getText()}`);
          const pty = this.m.typeOfNode(p.type!);
          v = this.coerce(this.value(this.expr(p.initializer, pty), p.initializer), pty, p.initializer);
        }
        return this.operandOf(v, call.arguments[i] ?? call);
      });
      this.at(call);
      if (resultTy.k === "void") {
        this.b.emit({ op: "callFn", fn: sub.name, args: ops });
        return { ty: VOID, op: imm(0) };
      }
      const dst = this.b.reg();
      this.b.emit({ op: "callFn", fn: sub.name, args: ops, dst });
      return { ty: resultTy, op: reg(dst) };
    }
    const exit = this.b.block();
    const result = resultTy.k === "void" ? undefined : this.b.reg();
    const saved = this.b.loc;
    return this.#scoped(() => {
      decl.parameters.forEach((p, i) => {
        if (!ts.isIdentifier(p.name)) this.report(p, D.UnsupportedSyntax, "destructured parameters are not supported");
        const sym = this.checker.getSymbolAtLocation(p.name)!;
        let v = args[i];
        if (!v) {
          if (!p.initializer) this.report(call, D.TypeMismatch, `missing argument ${p.name.text}`);
          v = this.expr(p.initializer, this.m.typeOfNode(p.type!));
        }
        const ty = v.ty.k === "lit" ? this.m.typeOfNode(p.type!) : v.ty;
        const r = this.b.reg();
        this.b.mov(r, this.operandOf(this.coerce(v, ty, p), p));
        this.#declare(sym, { k: "reg", reg: r, ty, mutable: true, name: p.name.text });
      });
      this.#inline.push({ decl, exit, result, resultTy });
      const loops = this.#loops.splice(0);
      try {
        this.block(decl.body!);
      } finally {
        this.#inline.pop();
        this.#loops.push(...loops);
      }
      this.b.jumpTo(exit);
      this.b.setBlock(exit);
      this.b.loc = saved;
      return result === undefined ? { ty: VOID, op: imm(0) } : { ty: resultTy, op: reg(result) };
    });
  }
}

// --------------------------------------------------------------------------------------------------
// Helpers.

/** The kernel's cap on iterations of one bpf_loop / number iterator (BPF_MAX_LOOPS, 1 << 23). */
export const MAX_LOOPS = 1 << 23;
/**
 * A `for` loop with a constant bound runs more rounds than this: lowered as a run-time loop (open-coded
 * iterator) where the target kernel has one, instead of leaving the verifier to walk every round.
 */
export const WALKED_LOOP_MAX_TRIPS = 4096;
const ITER_KFUNCS = ["bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"] as const;

/** Whether `node` assigns (=, op=, ++, --) one of `syms`. */
function assigns(node: ts.Node, symbolOf: (n: ts.Node) => ts.Symbol | undefined, syms: readonly ts.Symbol[]): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (ts.isBinaryExpression(n) && n.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && n.operatorToken.kind <= ts.SyntaxKind.LastAssignment && ts.isIdentifier(n.left) && syms.includes(symbolOf(n.left)!)) found = true;
    if ((ts.isPostfixUnaryExpression(n) || ts.isPrefixUnaryExpression(n)) && (n.operator === ts.SyntaxKind.PlusPlusToken || n.operator === ts.SyntaxKind.MinusMinusToken) && ts.isIdentifier(n.operand) && syms.includes(symbolOf(n.operand)!)) found = true;
    if (!found) ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

export type ArithOp = "add" | "sub" | "mul" | "div" | "mod" | "or" | "and" | "xor" | "lsh" | "rsh" | "arsh" | "shr";

const BINARY = new Map<ts.SyntaxKind, ArithOp>([
  [ts.SyntaxKind.PlusToken, "add"], [ts.SyntaxKind.MinusToken, "sub"], [ts.SyntaxKind.AsteriskToken, "mul"],
  [ts.SyntaxKind.SlashToken, "div"], [ts.SyntaxKind.PercentToken, "mod"], [ts.SyntaxKind.BarToken, "or"],
  [ts.SyntaxKind.AmpersandToken, "and"], [ts.SyntaxKind.CaretToken, "xor"], [ts.SyntaxKind.LessThanLessThanToken, "lsh"],
  [ts.SyntaxKind.GreaterThanGreaterThanToken, "rsh"], [ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken, "shr"],
]);

const COMPOUND = new Map<ts.SyntaxKind, ArithOp>([
  [ts.SyntaxKind.PlusEqualsToken, "add"], [ts.SyntaxKind.MinusEqualsToken, "sub"], [ts.SyntaxKind.AsteriskEqualsToken, "mul"],
  [ts.SyntaxKind.SlashEqualsToken, "div"], [ts.SyntaxKind.PercentEqualsToken, "mod"], [ts.SyntaxKind.BarEqualsToken, "or"],
  [ts.SyntaxKind.AmpersandEqualsToken, "and"], [ts.SyntaxKind.CaretEqualsToken, "xor"], [ts.SyntaxKind.LessThanLessThanEqualsToken, "lsh"],
  [ts.SyntaxKind.GreaterThanGreaterThanEqualsToken, "rsh"], [ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken, "shr"],
]);

const COMMUTATIVE = new Set<AluOp>(["add", "mul", "or", "and", "xor"]);

function isComparison(op: ts.SyntaxKind): boolean {
  return op === ts.SyntaxKind.EqualsEqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsEqualsToken || op === ts.SyntaxKind.EqualsEqualsToken ||
    op === ts.SyntaxKind.ExclamationEqualsToken || op === ts.SyntaxKind.LessThanToken || op === ts.SyntaxKind.LessThanEqualsToken ||
    op === ts.SyntaxKind.GreaterThanToken || op === ts.SyntaxKind.GreaterThanEqualsToken;
}

function condFor(op: ts.SyntaxKind, signed: boolean, node: ts.Node, l: Lowerer): Cond {
  switch (op) {
    case ts.SyntaxKind.EqualsEqualsEqualsToken:
    case ts.SyntaxKind.EqualsEqualsToken: return "eq";
    case ts.SyntaxKind.ExclamationEqualsEqualsToken:
    case ts.SyntaxKind.ExclamationEqualsToken: return "ne";
    case ts.SyntaxKind.LessThanToken: return signed ? "slt" : "lt";
    case ts.SyntaxKind.LessThanEqualsToken: return signed ? "sle" : "le";
    case ts.SyntaxKind.GreaterThanToken: return signed ? "sgt" : "gt";
    case ts.SyntaxKind.GreaterThanEqualsToken: return signed ? "sge" : "ge";
  }
  return l.report(node, D.Operator, "unsupported comparison");
}

function mirror(c: Cond): Cond {
  const m: Record<Cond, Cond> = { eq: "eq", ne: "ne", set: "set", gt: "lt", lt: "gt", ge: "le", le: "ge", sgt: "slt", slt: "sgt", sge: "sle", sle: "sge" };
  return m[c];
}

function foldCompare(op: ts.SyntaxKind, x: bigint, y: bigint): boolean {
  switch (op) {
    case ts.SyntaxKind.EqualsEqualsEqualsToken: case ts.SyntaxKind.EqualsEqualsToken: return x === y;
    case ts.SyntaxKind.ExclamationEqualsEqualsToken: case ts.SyntaxKind.ExclamationEqualsToken: return x !== y;
    case ts.SyntaxKind.LessThanToken: return x < y;
    case ts.SyntaxKind.LessThanEqualsToken: return x <= y;
    case ts.SyntaxKind.GreaterThanToken: return x > y;
    default: return x >= y;
  }
}

function foldArith(op: ArithOp, x: bigint, y: bigint, big: boolean): bigint {
  switch (op) {
    case "add": return x + y;
    case "sub": return x - y;
    case "mul": return x * y;
    case "div": return y === 0n ? 0n : x / y;
    case "mod": return y === 0n ? x : x % y;
    case "or": return x | y;
    case "and": return x & y;
    case "xor": return x ^ y;
    case "lsh": return big ? x << y : BigInt(Number(BigInt.asIntN(32, x)) << Number(y));
    case "rsh": case "arsh": return x >> y;
    case "shr": return big ? x >> y : BigInt(Number(BigInt.asIntN(32, x)) >>> Number(y));
  }
}

/** A constant for messages: decimal, with the hexadecimal spelling for large magnitudes. */
function showConstant(v: bigint): string {
  const m = v < 0n ? -v : v;
  return m >= 0x10000n ? `${v} (${v < 0n ? "-" : ""}0x${m.toString(16)})` : `${v}`;
}

function skipParens(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) e = e.expression;
  return e;
}

function hasValueReturn(body: ts.Node | undefined): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (ts.isReturnStatement(n) && n.expression) found = true;
    if (!ts.isFunctionLike(n)) ts.forEachChild(n, visit);
  };
  if (body) ts.forEachChild(body, visit);
  return found;
}

/** Whether `v` is a tsbpf/types layout. */
export function isLayout(v: unknown): v is AnyLayout {
  return typeof v === "object" && v !== null && typeof (v as AnyLayout).kind === "string" && typeof (v as AnyLayout).size === "number" && typeof (v as AnyLayout).decode === "function";
}

/** The compiler type of a value of `layout`. */
export function tyOfLayout(layout: AnyLayout): Ty {
  const s = scalarOfLayout(layout);
  if (s) return s;
  return { k: "mem", layout };
}

/** A struct/union member by name. */
export function fieldOf(layout: AnyLayout, name: string): { offset: number; layout: AnyLayout } | undefined {
  const fields = (layout as { fields?: Record<string, { offset: number; layout: AnyLayout }> }).fields;
  if (!fields || !Object.hasOwn(fields, name)) return undefined;
  const f = fields[name]!;
  return f.layout.kind === "padding" ? undefined : f;
}

/** Element layout and length of arrays, byte arrays and C strings. */
export function arrayInfo(layout: AnyLayout): { element: AnyLayout; length: number } | undefined {
  if (layout.kind === "array") {
    const l = layout as AnyLayout & { element: AnyLayout; length: number };
    return { element: l.element, length: l.length };
  }
  if (layout.kind === "bytes" || layout.kind === "cstring") return { element: U8_LAYOUT, length: (layout as AnyLayout & { length: number }).length };
  return undefined;
}

import * as types from "../../types/index.js";
import { bytes as bytesLayoutFn, u8 as u8Layout } from "../../types/index.js";
const U8_LAYOUT = u8Layout as unknown as AnyLayout;
function bytesLayout(n: number): AnyLayout {
  return bytesLayoutFn(n) as unknown as AnyLayout;
}

/** The layout of `count` integers of type `elem` (a kernel array's copy). */
function arrayLayoutOf(elem: { bits: number; signed: boolean }, count: number): AnyLayout {
  const scalars: Record<string, unknown> = { u8: types.u8, u16: types.u16, u32: types.u32, u64: types.u64, i8: types.i8, i16: types.i16, i32: types.i32, i64: types.i64 };
  const scalar = scalars[`${elem.signed ? "i" : "u"}${elem.bits}`] as Parameters<typeof types.array>[0];
  return types.array(scalar, count) as unknown as AnyLayout;
}
