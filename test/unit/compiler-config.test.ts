// Diagnostics of config() declarations and of constant lookup tables (module-level arrays used at run time).

import { describe, test } from "node:test";
import { kernel } from "../helpers/kernel-snippet.js";

const use = (expr: string) => `const out = new ArrayMap<u64>({ maxEntries: 1 });
export const p = xdp((ctx) => { out.update(0, u64(${expr})); return XdpAction.PASS; });`;

describe("config() diagnostics", () => {
  test("the type argument is required", () => {
    kernel`const limit = config(0);
${use("limit")}`.expectDiagnostic("TSBPF1100", /config\(\) needs its type: `config<u32>\(0\)`/, { line: 1 });
  });
  test("only as a const", () => {
    kernel`let limit = config<u32>(0);
${use("limit")}`.expectDiagnostic("TSBPF1001", /declare configuration with const/, { line: 1 });
  });
  test("the default must fit the type", () => {
    kernel`const limit = config<u8>(300);
${use("limit")}`.expectDiagnostic("TSBPF1103", /300 is not a value of u8/, { line: 1 });
  });
  test("a bool config takes true or false", () => {
    kernel`const on = config<bool>(1);
${use("on ? 1 : 0")}`.expectDiagnostic("TSBPF1102", /true or false/, { line: 1 });
  });
  test("the default is a compile-time constant", () => {
    kernel`declare const n: u32;
const limit = config<u32>(n);
${use("limit")}`.expectDiagnostic("TSBPF1104", /config\(\) default must be known at compile time/, { line: 2 });
  });
});

describe("constant lookup table diagnostics", () => {
  test("an element type that cannot be inferred asks for an annotation", () => {
    kernel`const M = [1, 2n] as const;
${use("M[ctx.len & 1]")}`.expectDiagnostic("TSBPF1101", /needs its element type: annotate it, e.g. `const M: readonly u16\[\]/, { line: 1 });
  });
  test("values that fit neither u32 nor i32", () => {
    kernel`const M = [0xffffffff, -1];
${use("M[ctx.len & 1]")}`.expectDiagnostic("TSBPF1103", /fit neither u32 nor i32/, { line: 1 });
  });
  test("an empty table", () => {
    kernel`const E: readonly u8[] = [];
${use("E[ctx.len]")}`.expectDiagnostic("TSBPF1101", /is empty/, { line: 1 });
  });
  test("an annotated element type the values do not fit", () => {
    kernel`const T: readonly u8[] = [1, 300];
${use("T[ctx.len & 1]")}`.expectDiagnostic("TSBPF1104", /invalid initial value/, { line: 1 });
  });
  test("tables are read-only", () => {
    kernel`const T = [1, 2, 3, 4];
export const p = xdp((ctx) => { T[ctx.len & 3] = 5; return XdpAction.PASS; });`.expectDiagnostic("TSBPF1102", /an element of a constant \(.rodata\) is read-only/, { line: 2 });
  });
});

test("a struct config() is read-only too", () => {
  kernel`const Limits = struct({ lo: u32, hi: u32 });
const limits = config<Infer<typeof Limits>>({ lo: 1, hi: 2 });
export const p = xdp((ctx) => { limits.lo = ctx.len; return XdpAction.PASS; });`.expectDiagnostic("TSBPF1102", /field "lo" of a constant \(.rodata\) is read-only/, { line: 3 });
});
