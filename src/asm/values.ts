// Range checks and integer conversions shared by the instruction builders, encoder and decoder.
// Every check throws AsmError with code ASM_INVALID_OPERAND naming the operation and the bad value.

import { AsmError } from "../errors.js";
import type { Register } from "./register.js";

const I32_MIN = -(2n ** 31n);
const U32_MAX = 2n ** 32n - 1n;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

function describe(value: unknown): string {
  return typeof value === "bigint" ? `${value}n` : String(value);
}

/** Converts an integer number/bigint to bigint, rejecting fractions, NaN and other types. */
export function toBigInt(value: number | bigint, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  throw new AsmError("ASM_INVALID_OPERAND", `${what}: ${describe(value)} is not an integer`);
}

/** Accepts [-2^31, 2^32) and returns the sign-extended 32-bit value as bigint. */
export function imm32(value: number | bigint, what: string): bigint {
  const v = toBigInt(value, what);
  if (v < I32_MIN || v > U32_MAX) {
    throw new AsmError("ASM_INVALID_OPERAND", `${what}: ${describe(value)} does not fit in 32 bits`);
  }
  return BigInt.asIntN(32, v);
}

/** Accepts [-2^63, 2^64) and returns the signed 64-bit value as bigint. */
export function imm64(value: number | bigint, what: string): bigint {
  const v = toBigInt(value, what);
  if (v < I64_MIN || v > U64_MAX) {
    throw new AsmError("ASM_INVALID_OPERAND", `${what}: ${describe(value)} does not fit in 64 bits`);
  }
  return BigInt.asIntN(64, v);
}

/** Accepts a signed 16-bit integer. */
export function off16(value: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -32768 || value > 32767) {
    throw new AsmError("ASM_INVALID_OPERAND", `${what}: offset ${describe(value)} does not fit in a signed 16-bit field`);
  }
  return value;
}

/** Accepts a signed 32-bit integer given as number. */
export function int32(value: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new AsmError("ASM_INVALID_OPERAND", `${what}: ${describe(value)} does not fit in a signed 32-bit field`);
  }
  return value;
}

/** Accepts a register number 0..10. */
export function reg(value: number, what: string): Register {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 10) {
    throw new AsmError("ASM_INVALID_OPERAND", `${what}: ${describe(value)} is not a register (r0..r10)`);
  }
  return value as Register;
}

/** Accepts one of the listed values. */
export function oneOf<T extends number>(value: number, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly number[]).includes(value)) {
    throw new AsmError("ASM_INVALID_OPERAND", `${what}: ${describe(value)} is not one of ${allowed.join(", ")}`);
  }
  return value as T;
}
