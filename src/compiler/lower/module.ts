// Lowers a kernel program module: finds programs, maps and module variables in the user's files,
// lowers each program to IR, and collects everything the object writer needs.

import ts from "typescript";
import type { Btf } from "../../btf/btf.js";
import type { SourceLocation } from "../../asm/instruction.js";
import type { AnyLayout } from "../../types/index.js";
import { ConstEvaluator, NOT_CONSTANT } from "../consteval.js";
import { DiagnosticCode as D, Diagnosed, diagnosticAt, type Diagnostic } from "../diagnostics.js";
import { isLibraryFile } from "../host.js";
import type { IrFunction } from "../ir.js";
import type { CompiledExtern, CompiledGlobal, CompiledMap, CompiledStructOps, CType } from "../module.js";
import { CONTEXT_TYPES, PROGRAM_KINDS, type ProgramKind } from "../kinds/index.js";
import { lowerStructOps, STRUCT_OPS_ENTRY } from "../kinds/struct-ops.js";
import * as layouts from "../../types/index.js";
import { BOOL, cTypeOf, I32, I64, intByName, showTy, U32, U64, wrap, type Ty } from "../types.js";
import type { GlobalVar, MapInfo, ModuleContext } from "./context.js";
import { isLayout, Lowerer, tyOfLayout } from "./function.js";
import { MAP_KINDS, required as requiredEntries, type MapOptionsReader } from "./maps.js";
import { BTF_MARKER, KernelTypes } from "./kernel.js";
import { LogTable } from "./log.js";
import { Subprograms, type LoweredSubprogram } from "./subprograms.js";

/** One lowered program. */
export interface LoweredProgram {
  readonly name: string;
  readonly section: string;
  readonly kind: ProgramKind;
  readonly ir: IrFunction;
  readonly loc: SourceLocation | undefined;
  /** The BTF prototype the kind asks for (see ProgramKind.proto). */
  readonly proto?: CType & { readonly kind: "func_proto" };
}

/** Everything lowering produced. */
export interface LoweredModule {
  readonly programs: LoweredProgram[];
  readonly maps: CompiledMap[];
  readonly globals: CompiledGlobal[];
  readonly license: string;
  readonly diagnostics: Diagnostic[];
  readonly kernel: KernelTypes;
  /** Kernel functions the programs call (`.ksyms` externs). */
  readonly externs: CompiledExtern[];
  readonly structOps: CompiledStructOps[];
  /** User functions compiled as bpf-to-bpf subprograms (static, in .text). */
  readonly subprograms: LoweredSubprogram[];
}


/** Lowers every program declared in `entry` (with maps and variables from all user modules). */
export function lowerModule(program: ts.Program, entry: ts.SourceFile, btf: () => Btf): LoweredModule {
  const checker = program.getTypeChecker();
  const diagnostics: Diagnostic[] = [];
  const report = (node: ts.Node, code: string, message: string): never => {
    diagnostics.push(diagnosticAt(node, code, message));
    throw new Diagnosed();
  };
  const kernel = new KernelTypes(btf);
  const consts = new ConstEvaluator(checker, report, (name) => kernel.enumerator(name));
  const maps = new Map<ts.Declaration, MapInfo>();
  const mapsByName = new Map<string, MapInfo>();
  const globals = new Map<ts.Declaration, GlobalVar>();
  /** Module-level declarations already reported: their uses are not reported again. */
  const failed = new Set<ts.Declaration>();
  const compiledGlobals: CompiledGlobal[] = [];
  const sectionSize: Record<string, number> = { ".data": 0, ".bss": 0, ".rodata": 0 };
  const strings = new Map<string, number>();
  const externs = new Map<string, CompiledExtern>();
  const structOps: CompiledStructOps[] = [];
  let license = "GPL";

  const place = (section: ".data" | ".bss" | ".rodata", size: number, align: number): number => {
    const off = Math.ceil(sectionSize[section]! / align) * align;
    sectionSize[section] = off + size;
    return off;
  };

  const typeOfNode = (node: ts.TypeNode): Ty => {
    if (ts.isParenthesizedTypeNode(node)) return typeOfNode(node.type);
    if (node.kind === ts.SyntaxKind.BooleanKeyword) return BOOL;
    if (node.kind === ts.SyntaxKind.NumberKeyword) return report(node, D.UnsizedType, "`number` has no width; use u8, u16, u32, i8, i16 or i32");
    if (node.kind === ts.SyntaxKind.BigIntKeyword) return report(node, D.UnsizedType, "`bigint` has no width; use u64 or i64");
    if (ts.isUnionTypeNode(node)) {
      const parts = node.types.filter((t) => !(ts.isLiteralTypeNode(t) && t.literal.kind === ts.SyntaxKind.NullKeyword) && t.kind !== ts.SyntaxKind.UndefinedKeyword);
      if (parts.length === 1) return typeOfNode(parts[0]!);
      return report(node, D.UnsupportedType, "union types are not supported (except `T | null`)");
    }
    if (ts.isTypeReferenceNode(node)) {
      const sym = consts.resolveSymbol(node.typeName);
      // A name can be both a value and a type (`const Ev = struct(...)`, `type Ev = Infer<typeof Ev>`): use the type's declaration.
      const decl = sym?.declarations?.find((d) => ts.isTypeAliasDeclaration(d) || ts.isInterfaceDeclaration(d)) ?? sym?.declarations?.[0];
      if (sym && decl) {
        if (isLibraryFile(decl.getSourceFile().fileName) && !decl.getSourceFile().text.startsWith(BTF_MARKER)) {
          const name = sym.getName();
          const int = intByName(name);
          if (int) return int;
          if (name === "bool") return BOOL;
          if (name === "KernelPtr" || name === "UserPtr" || name === "DataLoc") return U64;
          if (CONTEXT_TYPES.has(name)) return { k: "ctx" };
          if (name === "Infer" && node.typeArguments?.[0] && ts.isTypeQueryNode(node.typeArguments[0])) {
            return layoutType(node.typeArguments[0].exprName, node);
          }
          return report(node, D.UnsupportedType, `${name} cannot be used as a value type in kernel code`);
        }
        if (ts.isTypeAliasDeclaration(decl)) return typeOfNode(decl.type);
        const kt = KernelTypes.kernelName(checker.getTypeAtLocation(node));
        if (kt) return { k: "kptr", name: kt.name, btfKind: kt.btfKind };
      }
      return report(node, D.UnsupportedType, `${node.getText()} is not a kernel-language type`);
    }
    if (ts.isTypeQueryNode(node)) return report(node, D.UnsupportedType, "use Infer<typeof Layout> for struct types");
    return report(node, D.UnsupportedType, `${node.getText()} is not a kernel-language type`);
  };

  const layoutType = (name: ts.EntityName, node: ts.Node): Ty => {
    const v = consts.tryEvaluate(ts.isIdentifier(name) ? name : (name as unknown as ts.Expression));
    if (v === NOT_CONSTANT || !isLayout(v)) return report(node, D.UnsupportedType, `${name.getText()} is not a layout`);
    return tyOfLayout(v);
  };

  const declareMap = (decl: ts.VariableDeclaration, init: ts.NewExpression): MapInfo | undefined => {
    const className = consts.libraryName(init.expression);
    const kind = className && Object.hasOwn(MAP_KINDS, className) ? MAP_KINDS[className]! : undefined;
    if (!className || !kind) return undefined;
    const name = (decl.name as ts.Identifier).text;
    const type = kind.type;
    const optsNode = init.arguments?.[0];
    const opts = optsNode ? consts.evaluate(optsNode, "map options") : {};
    if (typeof opts !== "object" || opts === null) return report(optsNode ?? init, D.MapDeclaration, "map options must be an object literal of constants");
    const o = opts as Record<string, unknown>;
    const targs = init.typeArguments ?? [];
    const layoutTy = (v: unknown, what: string): Ty | undefined => {
      if (v === undefined) return undefined;
      if (!isLayout(v)) return report(optsNode!, D.MapDeclaration, `${what} must be a layout (u32, a struct...)`);
      return tyOfLayout(v);
    };
    let key: Ty | undefined, value: Ty | undefined;
    const keyed = kind.typing === "keyed";
    if (keyed) {
      key = targs[0] ? typeOfNode(targs[0]) : layoutTy(o.key, "key");
      value = targs[1] ? typeOfNode(targs[1]) : layoutTy(o.value, "value");
    } else if (kind.typing === "indexed" || kind.typing === "value") {
      key = kind.typing === "indexed" ? U32 : undefined;
      value = targs[0] ? typeOfNode(targs[0]) : layoutTy(o.value, "value");
    } else if (kind.typing === "key") {
      key = targs[0] ? typeOfNode(targs[0]) : layoutTy(o.key, "key");
    }
    if (kind.typing === "key" && !key) return report(init, D.MapDeclaration, `${className} needs its key type: \`new ${className}<K>(...)\` or { key: Layout }`);
    if (kind.typing !== "none" && kind.typing !== "key" && (!value || (keyed && !key))) {
      return report(init, D.MapDeclaration, `${className} needs its key and value types: \`new ${className}<K, V>(...)\` or { key: u32, value: Layout }`);
    }
    for (const t of [key, value]) if (t && t.k !== "int" && t.k !== "bool" && t.k !== "mem") report(init, D.MapDeclaration, "map keys and values are integers, booleans or layouts");
    const reader: MapOptionsReader = {
      num: (k) => {
        const v = o[k];
        if (v === undefined) return undefined;
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0) return report(optsNode!, D.MapDeclaration, `${k} must be a non-negative integer`);
        return v;
      },
      fail: (message) => report(optsNode ?? init, D.MapDeclaration, message),
    };
    const fixed = kind.declare ? kind.declare(reader) : { maxEntries: requiredEntries(reader) };
    const flags = (reader.num("flags") ?? 0) | (fixed.flags ?? 0);
    const extra: Partial<{ keySize: number; valueSize: number; key: CType; value: CType }> = {};
    if (fixed.keySize !== undefined) extra.keySize = fixed.keySize;
    if (fixed.valueSize !== undefined) extra.valueSize = fixed.valueSize;
    if (key) extra.key = cTypeOf(key);
    if (value) extra.value = cTypeOf(value);
    const maxEntries = fixed.maxEntries;
    const pinning = o.pinning === "by_name" ? "by_name" as const : undefined;
    const compiled: CompiledMap = { name, type, ...extra, ...(maxEntries !== undefined ? { maxEntries } : {}), ...(flags ? { flags } : {}), ...(pinning ? { pinning } : {}), loc: locOf(decl) };
    const info: MapInfo = { name, className, type, key, value, compiled };
    maps.set(decl, info);
    mapsByName.set(name, info);
    return info;
  };

  /** Size, alignment and initial bytes (undefined when all zero) of a variable of type `ty`. */
  const initialBytes = (ty: Ty, initVal: unknown, node: ts.Node): { size: number; align: number; init: Uint8Array | undefined } => {
    const size = ty.k === "int" ? ty.bits / 8 : ty.k === "bool" ? 1 : ty.k === "mem" ? ty.layout.size : 0;
    const align = ty.k === "mem" ? ty.layout.align : size;
    let init: Uint8Array | undefined;
    if (ty.k === "int" && (typeof initVal === "number" || typeof initVal === "bigint") && BigInt(initVal) !== 0n) {
      init = new Uint8Array(size);
      const v = wrap(BigInt(initVal), ty);
      for (let i = 0; i < size; i++) init[i] = Number((BigInt.asUintN(64, v) >> BigInt(8 * i)) & 0xffn);
    } else if (ty.k === "bool" && initVal === true) init = Uint8Array.of(1);
    else if (ty.k === "mem" && initVal && typeof initVal === "object") {
      try {
        init = (ty.layout as AnyLayout & { encode(v: unknown): Uint8Array }).encode(ty.layout.from(initVal as never));
      } catch (e) {
        return report(node, D.NotConstant, `invalid initial value: ${(e as Error).message}`);
      }
      if (init.every((b) => b === 0)) init = undefined;
    }
    return { size, align, init };
  };

  const globalNames = new Set<string>();
  /** A `.rodata` variable (a `config()` or a lookup table) named `name`. */
  const declareRodata = (decl: ts.VariableDeclaration, name: string, ty: Ty, initVal: unknown, node: ts.Node): GlobalVar => {
    if (globalNames.has(name)) report(decl, D.UnsupportedSyntax, `a global variable named "${name}" is already declared; global variable names must be unique across the program's modules`);
    globalNames.add(name);
    const { size, align, init } = initialBytes(ty, initVal, node);
    const offset = place(".rodata", size, align);
    const g: GlobalVar = { name, section: ".rodata", offset, ty };
    globals.set(decl, g);
    compiledGlobals.push({ name, section: ".rodata", type: cTypeOf(ty), offset, size, init: init ?? new Uint8Array(size), global: true });
    return g;
  };

  /** `const name = config<T>(initial)`: a .rodata variable userspace sets before load. */
  const declareConfig = (decl: ts.VariableDeclaration, call: ts.CallExpression): void => {
    const name = (decl.name as ts.Identifier).text;
    const targ = call.typeArguments?.[0] ?? decl.type;
    if (!targ) return void report(call, D.UnsizedType, `config() needs its type: \`config<u32>(0)\`, \`config<bool>(false)\` or \`config<Infer<typeof Layout>>({...})\``);
    const ty = typeOfNode(targ);
    if (ty.k !== "int" && ty.k !== "bool" && ty.k !== "mem") return void report(targ, D.UnsupportedType, "config values are integers, booleans or layouts");
    const arg = call.arguments[0];
    if (!arg || call.arguments.length !== 1) return void report(call, D.UnsupportedSyntax, "config() takes one argument: the value used when the loader sets none");
    const initVal = consts.evaluate(arg, "a config() default");
    if (ty.k === "int") {
      if (typeof initVal !== "number" && typeof initVal !== "bigint") return void report(arg, D.TypeMismatch, `the default of a ${showTy(ty)} config is an integer`);
      if (typeof initVal === "number" && !Number.isInteger(initVal)) return void report(arg, D.Float, "floating-point values are not supported");
      if (wrap(BigInt(initVal), ty) !== BigInt(initVal)) return void report(arg, D.ConstantRange, `${initVal} is not a value of ${showTy(ty)}`);
    }
    if (ty.k === "bool" && typeof initVal !== "boolean") return void report(arg, D.TypeMismatch, "the default of a bool config is true or false");
    declareRodata(decl, name, ty, initVal, arg);
  };

  /** The layout of one scalar element type. */
  const scalarLayout = (ty: Ty): AnyLayout | undefined => {
    if (ty.k === "bool") return layouts.bool;
    if (ty.k !== "int") return undefined;
    return ({ 8: [layouts.u8, layouts.i8], 16: [layouts.u16, layouts.i16], 32: [layouts.u32, layouts.i32], 64: [layouts.u64, layouts.i64] } as Record<number, AnyLayout[]>)[ty.bits]![ty.signed ? 1 : 0];
  };

  /** The element type a table's annotation names (`readonly u16[]`, `Infer<typeof Rule>[]`, `ReadonlyArray<T>`). */
  const annotatedElement = (node: ts.TypeNode): ts.TypeNode | undefined => {
    if (ts.isTypeOperatorNode(node) && node.operator === ts.SyntaxKind.ReadonlyKeyword) return annotatedElement(node.type);
    if (ts.isParenthesizedTypeNode(node)) return annotatedElement(node.type);
    if (ts.isArrayTypeNode(node)) return node.elementType;
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName) && (node.typeName.text === "ReadonlyArray" || node.typeName.text === "Array") && node.typeArguments?.length === 1) return node.typeArguments[0];
    return undefined;
  };

  /**
   * A module-level constant array used at run time (`const W = [1, 2, 4, 8] as const`): a `.rodata`
   * array made once. The element type comes from the annotation, else from the values (u32, i32 when
   * one is negative, u64/i64 for bigints, bool).
   */
  const constTable = (decl: ts.VariableDeclaration, values: readonly unknown[]): GlobalVar => {
    const have = globals.get(decl);
    if (have) return have;
    try {
      return makeTable(decl, values);
    } catch (e) {
      if (e instanceof Diagnosed) failed.add(decl); // reported once, not at every use
      throw e;
    }
  };
  const makeTable = (decl: ts.VariableDeclaration, values: readonly unknown[]): GlobalVar => {
    const name = (decl.name as ts.Identifier).text;
    const where = decl.initializer ?? decl;
    if (values.length === 0) return report(where, D.UnsupportedType, `constant array "${name}" is empty; a lookup table needs at least one element`);
    let elem: Ty;
    const ann = decl.type && annotatedElement(decl.type);
    if (ann) elem = typeOfNode(ann);
    else if (values.every((v) => typeof v === "boolean")) elem = BOOL;
    else if (values.every((v) => typeof v === "number" && Number.isInteger(v))) {
      const nums = values as number[];
      if (nums.every((v) => v >= 0 && v <= 0xffffffff)) elem = U32;
      else if (nums.every((v) => v >= -0x80000000 && v <= 0x7fffffff)) elem = I32;
      else return report(where, D.ConstantRange, `the values of "${name}" fit neither u32 nor i32; use bigints (u64/i64) or annotate the type, e.g. \`const ${name}: readonly i64[]\``);
    } else if (values.every((v) => typeof v === "bigint")) elem = (values as bigint[]).every((v) => v >= 0n) ? U64 : I64;
    else return report(where, D.UnsupportedType, `constant array "${name}" used at run time needs its element type: annotate it, e.g. \`const ${name}: readonly u16[] = [...]\` or \`readonly Infer<typeof Entry>[]\` for structs`);
    const elemLayout = elem.k === "mem" ? elem.layout : scalarLayout(elem);
    if (!elemLayout) return report(decl.type ?? where, D.UnsupportedType, "table elements are integers, booleans or layouts");
    const table: Ty = { k: "mem", layout: layouts.array(elemLayout, values.length) };
    return declareRodata(decl, name, table, values, where);
  };

  const declareGlobal = (decl: ts.VariableDeclaration, isConst: boolean): void => {
    const name = (decl.name as ts.Identifier).text;
    // Constants are folded where used; constant arrays become .rodata tables when used at run time.
    if (isConst && decl.type && annotatedElement(decl.type)) return;
    const ty = decl.type ? typeOfNode(decl.type) : undefined;
    const initVal = decl.initializer ? consts.tryEvaluate(decl.initializer) : 0;
    if (isConst) return;
    if (!ty) return void report(decl, D.UnsizedType, `module variable "${name}" needs a type annotation (e.g. \`: u64\`)`);
    if (ty.k !== "int" && ty.k !== "bool" && ty.k !== "mem") return void report(decl, D.UnsupportedType, "module variables are integers, booleans or layouts");
    if (initVal === NOT_CONSTANT) return void report(decl.initializer!, D.NotConstant, "module variables need a constant initial value");
    const { size, align, init } = initialBytes(ty, initVal, decl.initializer ?? decl);
    globalNames.add(name);
    const section = init ? ".data" : ".bss";
    const offset = place(section, size, align);
    const g: GlobalVar = { name, section, offset, ty };
    globals.set(decl, g);
    compiledGlobals.push({ name, section, type: cTypeOf(ty), offset, size, ...(init ? { init } : {}), global: true });
  };

  const subprograms = new Subprograms(program.getSourceFiles().filter((f) => !f.isDeclarationFile && !isLibraryFile(f.fileName)), diagnostics, []);
  /** A map the compiler itself declares (log ring, USDT spec maps), once per object by name. */
  const declareInternalMap = (m: CompiledMap): void => {
    if (!mapsByName.has(m.name)) mapsByName.set(m.name, { name: m.name, className: "", type: m.type, key: undefined, value: undefined, compiled: m });
  };
  const log = new LogTable({
    global: (section, g, align) => {
      const offset = place(section, g.size, align);
      compiledGlobals.push({ ...g, section, offset });
      return offset;
    },
    declareMap: (m) => declareInternalMap(m),
  });
  const ctx: ModuleContext = {
    log,
    subprograms,
    checker,
    consts,
    kernel,
    report,
    warnOrError: (d) => diagnostics.push(d),
    mapOf: (decl) => maps.get(decl),
    mapByName: (name) => mapsByName.get(name)!,
    globalOf: (decl) => globals.get(decl),
    failed: (decl) => failed.has(decl),
    constTable,
    rodataString: (text) => {
      const have = strings.get(text);
      if (have !== undefined) return have;
      const bytes = new TextEncoder().encode(text + "\0");
      const offset = place(".rodata", bytes.length, 1);
      compiledGlobals.push({ name: `__tsbpf_str${strings.size}`, section: ".rodata", type: { kind: "array", element: { kind: "int", name: "char", size: 1, signed: true, char: true }, length: bytes.length }, offset, size: bytes.length, init: bytes, global: false });
      strings.set(text, offset);
      return offset;
    },
    typeOfNode,
    kfunc: (name, proto) => {
      if (!externs.has(name)) externs.set(name, { name, section: ".ksyms", type: proto });
    },
  };

  // Pass 1: module-level declarations in every user file (maps, variables), imports checked.
  const userFiles = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !isLibraryFile(f.fileName));
  const programDecls: { decl: ts.VariableDeclaration; call: ts.CallExpression; kind: ProgramKind }[] = [];
  const structOpsDecls: { decl: ts.VariableDeclaration; call: ts.CallExpression }[] = [];
  for (const sf of userFiles) {
    for (const st of sf.statements) {
      try {
        if (ts.isImportDeclaration(st)) {
          if (st.importClause?.isTypeOnly) continue;
          const spec = (st.moduleSpecifier as ts.StringLiteral).text;
          if (spec !== "tsbpf/kernel" && spec !== "tsbpf/types" && !spec.startsWith(".")) {
            report(st.moduleSpecifier, D.Import, `kernel programs can import only tsbpf/kernel, tsbpf/types and their own modules, not "${spec}"`);
          }
          continue;
        }
        if (ts.isVariableStatement(st)) {
          const isConst = (st.declarationList.flags & ts.NodeFlags.Const) !== 0;
          for (const d of st.declarationList.declarations) {
            try {
              if (!ts.isIdentifier(d.name)) report(d.name, D.UnsupportedSyntax, "destructuring is not supported at module level");
              const init = d.initializer && skip(d.initializer);
              if (init && ts.isNewExpression(init)) {
                if (!isConst) report(d, D.MapDeclaration, "declare maps with const");
                if (!declareMap(d, init)) report(init, D.Class, "`new` is only for map declarations (HashMap, ArrayMap, RingBuf...)");
                continue;
              }
              if (init && ts.isCallExpression(init)) {
                const lib = consts.libraryName(init.expression);
                const kind = lib ? PROGRAM_KINDS.get(lib) : undefined;
                if (lib === "config") {
                  if (!isConst) report(d, D.UnsupportedSyntax, "declare configuration with const: `const name = config<u32>(0)`");
                  declareConfig(d, init);
                  continue;
                }
                if (lib === STRUCT_OPS_ENTRY) {
                  if (sf !== entry) report(d, D.ProgramDeclaration, "declare programs in the entry file");
                  structOpsDecls.push({ decl: d, call: init });
                  continue;
                }
                if (kind) {
                  if (sf !== entry) report(d, D.ProgramDeclaration, "declare programs in the entry file");
                  programDecls.push({ decl: d, call: init, kind });
                  continue;
                }
              }
              if (isConst && d.initializer && consts.tryEvaluate(d.initializer) === NOT_CONSTANT && !(d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer)))) {
                report(d.initializer, D.NotConstant, "module-level constants must be compile-time constants (layouts, numbers, strings), maps or programs");
              }
              if (d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))) {
                report(d.initializer, D.Closure, "declare helper functions with `function name(...)`, not arrow functions");
              }
              declareGlobal(d, isConst);
            } catch (e) {
              if (!(e instanceof Diagnosed)) throw e;
              failed.add(d);
            }
          }
          continue;
        }
        if (ts.isFunctionDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isEmptyStatement(st)) continue;
        if (ts.isExportDeclaration(st)) continue;
        // `declare module "tsbpf/kernel" { ... }`: a module augmentation (types only, e.g. from tsbpf gen).
        if (ts.isModuleDeclaration(st) && ts.isStringLiteral(st.name)) continue;
        if (ts.isClassDeclaration(st)) report(st, D.Class, "classes are not supported in kernel programs; use struct layouts and functions");
        if (ts.isEnumDeclaration(st)) report(st, D.UnsupportedSyntax, "enums are not supported; use `as const` objects of numbers");
        if (ts.isExpressionStatement(st)) {
          const lic = licenseOf(st, consts);
          if (lic !== undefined) {
            license = lic;
            continue;
          }
        }
        report(st, D.UnsupportedSyntax, "only imports, maps, constants, variables, functions and program declarations are allowed at module level");
      } catch (e) {
        if (!(e instanceof Diagnosed)) throw e;
      }
    }
  }

  // Pass 2: programs.
  const programs: LoweredProgram[] = [];
  const names = new Set<string>();
  for (const { decl, call, kind } of programDecls) {
    try {
      const name = (decl.name as ts.Identifier).text;
      if (names.has(name)) report(decl, D.ProgramDeclaration, `duplicate program name ${name}`);
      names.add(name);
      const exported = ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Export;
      if (!exported) report(decl, D.ProgramDeclaration, `program "${name}" must be exported (\`export const ${name} = ...\`)`);
      const targets: string[] = [];
      for (let i = 0; i < kind.targets; i++) {
        const a = call.arguments[i];
        if (!a) report(call, D.ProgramDeclaration, `${kind.entry}() needs a target name`);
        const v = consts.evaluate(a, "the attach target");
        if (typeof v !== "string") return report(a, D.ProgramDeclaration, "attach targets are string constants");
        targets.push(v);
      }
      const badTarget = kind.checkTargets?.(targets);
      if (badTarget) return report(call.arguments[badTarget.index] ?? call, D.ProgramDeclaration, badTarget.message);
      // A context the program declares (syscall programs): a struct layout before the handler.
      const layoutArg = kind.context.k === "layout" ? call.arguments[kind.targets] : undefined;
      const layout = layoutArg && !ts.isArrowFunction(layoutArg) && !ts.isFunctionExpression(layoutArg) ? consts.evaluate(layoutArg, "the context layout") : undefined;
      if (kind.context.k === "layout" && !isLayout(layout)) return report(layoutArg ?? call, D.ProgramDeclaration, `${kind.entry}() needs the context's struct layout first, e.g. ${kind.entry}(Args, (ctx) => ...)`);
      const handler = call.arguments[kind.targets + (layoutArg ? 1 : 0)];
      if (!handler || !(ts.isArrowFunction(handler) || ts.isFunctionExpression(handler))) return report(call, D.ProgramDeclaration, `${kind.entry}() needs a handler function \`(ctx) => { ... }\``);
      for (const m of kind.maps ?? []) {
        declareInternalMap(m);
      }
      const kindFor = kind.forTargets?.(targets) ?? kind;
      const L = new Lowerer(ctx, kindFor, targets, name, locOf(decl));
      L.lowerHandler(handler, undefined, isLayout(layout) ? layout : undefined);
      const proto = kindFor.proto?.();
      programs.push({ name, section: kind.section(targets), kind, ir: L.b.finish(), loc: locOf(decl), ...(proto ? { proto } : {}) });
    } catch (e) {
      if (!(e instanceof Diagnosed)) throw e;
    }
  }
  for (const { decl, call } of structOpsDecls) {
    try {
      const name = (decl.name as ts.Identifier).text;
      if (!(ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Export)) report(decl, D.ProgramDeclaration, `struct_ops value "${name}" must be exported (\`export const ${name} = ...\`)`);
      const { programs: handlers, value } = lowerStructOps(ctx, decl, call);
      for (const p of [{ name }, ...handlers]) {
        if (names.has(p.name)) report(decl, D.ProgramDeclaration, `duplicate program name ${p.name}`);
        names.add(p.name);
      }
      programs.push(...handlers);
      structOps.push(value);
    } catch (e) {
      if (!(e instanceof Diagnosed)) throw e;
    }
  }
  if (programDecls.length === 0 && structOpsDecls.length === 0 && diagnostics.length === 0) {
    diagnostics.push(diagnosticAt(entry, D.ProgramDeclaration, "no programs declared: export one, e.g. `export const onExec = tracepoint(\"sched/sched_process_exec\", (ctx) => 0)`"));
  }
  log.finish();
  try {
    kernel.finalize();
  } catch (e) {
    if (!(e instanceof Diagnosed)) throw e;
  }
  return { programs, maps: [...mapsByName.values()].map((m) => m.compiled), globals: compiledGlobals, license, diagnostics, kernel, externs: [...externs.values()], structOps, subprograms: subprograms.lowered };
}

function skip(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) e = e.expression;
  return e;
}

/** `license("Dual MIT/GPL")` statement. */
function licenseOf(st: ts.ExpressionStatement, consts: ConstEvaluator): string | undefined {
  const e = st.expression;
  if (!ts.isCallExpression(e) || consts.libraryName(e.expression) !== "license") return undefined;
  const v = e.arguments[0] ? consts.tryEvaluate(e.arguments[0]) : NOT_CONSTANT;
  return typeof v === "string" ? v : undefined;
}

/** Source location of a node. */
export function locOf(node: ts.Node): SourceLocation {
  const sf = node.getSourceFile();
  const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
  return { file: sf.fileName, line: line + 1, column: character + 1 };
}

