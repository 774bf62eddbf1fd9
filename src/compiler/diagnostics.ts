// Compiler diagnostics: a code, a message and a source range for every problem, collected so that one
// compile reports every error it can; formatted as `file:line:col - error CODE: message` with the line.

import ts from "typescript";
import { TsbpfError } from "../errors.js";

/** Diagnostic codes. TypeScript's own errors keep their `TS####` code. */
export const DiagnosticCode = {
  /** A syntax form the kernel language does not have (classes, closures, exceptions...). */
  UnsupportedSyntax: "TSBPF1001",
  /** Closures and function expressions outside a program declaration. */
  Closure: "TSBPF1002",
  /** Classes, `new` of anything but a map, methods. */
  Class: "TSBPF1003",
  /** try/catch/throw. */
  Exception: "TSBPF1004",
  /** Strings other than literals passed where a literal is expected. */
  String: "TSBPF1005",
  /** Loops whose bound the compiler cannot prove. */
  UnboundedLoop: "TSBPF1006",
  /** Floating-point numbers. */
  Float: "TSBPF1007",
  /** Dynamic property access, computed keys. */
  DynamicAccess: "TSBPF1008",
  /** Operators with no eBPF meaning (`**`, `in`, `instanceof`, `typeof`, `delete`...). */
  Operator: "TSBPF1009",
  /** async/await, generators, yield. */
  Async: "TSBPF1010",
  /** An integer type is required (plain `number`/`bigint` has no width). */
  UnsizedType: "TSBPF1100",
  /** A type the kernel language cannot represent. */
  UnsupportedType: "TSBPF1101",
  /** Operand types that do not combine. */
  TypeMismatch: "TSBPF1102",
  /** A constant outside its type's range. */
  ConstantRange: "TSBPF1103",
  /** A value that must be known at compile time is not. */
  NotConstant: "TSBPF1104",
  /** Map declaration problems. */
  MapDeclaration: "TSBPF1200",
  /** A helper used in a program kind that may not call it. */
  HelperNotAllowed: "TSBPF1300",
  /** Unknown helper or method. */
  UnknownHelper: "TSBPF1301",
  /** Program declaration problems. */
  ProgramDeclaration: "TSBPF1400",
  /** A constant return value the program's kind does not accept (XDP actions, cgroup verdicts...). */
  ReturnValue: "TSBPF1401",
  /** A kernel type or field missing from BTF. */
  KernelType: "TSBPF1500",
  /** eBPF limits: stack size, argument count, recursion. */
  Limit: "TSBPF1600",
  /** Syntax nested deeper than the compiler accepts (src/compiler/nesting.ts). */
  Nesting: "TSBPF1601",
  /** Imports from modules kernel code may not use. */
  Import: "TSBPF1700",
  /** A log call's argument that log cannot format (log.info`${x}`: structs, kernel memory, hex/ipv4/ipv6/mac of the wrong size). */
  LogArgument: "TSBPF1800",
  /** A log call whose record (header and arguments) exceeds the most a record may hold. */
  LogRecordSize: "TSBPF1801",
  /** Internal compiler error (a bug): reported, never thrown. */
  Internal: "TSBPF1999",
} as const;

/** One problem in the source, with its position. */
export interface Diagnostic {
  readonly code: string;
  readonly message: string;
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** Offset and length of the range in the file's text. */
  readonly start: number;
  readonly length: number;
  /** The source line. */
  readonly text: string;
}

/** A failed compilation; `diagnostics` lists every problem found. */
export class CompileError extends TsbpfError {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    super("COMPILE_FAILED", `compilation failed with ${diagnostics.length} error${diagnostics.length === 1 ? "" : "s"}:\n` + diagnostics.map(formatDiagnostic).join("\n"));
    this.diagnostics = diagnostics;
  }
}

/** Internal signal: a construct was diagnosed; lowering of the enclosing statement stops. */
export class Diagnosed extends Error {
  constructor() {
    super("diagnosed");
  }
}

/** Builds a diagnostic for `node` (or an explicit range). */
export function diagnosticAt(node: ts.Node, code: string, message: string): Diagnostic {
  const sf = node.getSourceFile();
  const start = node.getStart(sf);
  return diagnosticRange(sf, start, Math.max(0, node.getEnd() - start), code, message);
}

/** Builds a diagnostic for a range of `sf`. */
export function diagnosticRange(sf: ts.SourceFile, start: number, length: number, code: string, message: string): Diagnostic {
  const { line, character } = sf.getLineAndCharacterOfPosition(start);
  return { code, message, file: sf.fileName, line: line + 1, column: character + 1, start, length, text: lineText(sf, line) };
}

/** The text of 0-based line `line` of `sf`, without its line break. */
export function lineText(sf: ts.SourceFile, line: number): string {
  const starts = sf.getLineStarts();
  const end = line + 1 < starts.length ? starts[line + 1]! : sf.text.length;
  return sf.text.slice(starts[line]!, end).replace(/\r?\n$/, "");
}

/** Converts a TypeScript diagnostic. */
export function fromTypeScript(d: ts.Diagnostic): Diagnostic {
  const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (d.file && d.start !== undefined) return diagnosticRange(d.file, d.start, d.length ?? 0, `TS${d.code}`, message);
  return { code: `TS${d.code}`, message, file: "", line: 0, column: 0, start: 0, length: 0, text: "" };
}

/** `file:line:col - error CODE: message`, then the line and a caret under the range. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.column} - error ${d.code}: ${d.message}`;
  if (!d.text) return head;
  const width = Math.max(1, Math.min(d.length, d.text.length - (d.column - 1)));
  return `${head}\n  ${d.text}\n  ${" ".repeat(Math.max(0, d.column - 1))}${"^".repeat(width)}`;
}
