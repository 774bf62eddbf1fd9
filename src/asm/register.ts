// eBPF registers R0..R10 and their conventional roles.
// R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 callee-saved, R10 read-only frame pointer.

/** A register number the kernel accepts: 0..10. */
export type Register = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

/** Return value of calls and of the program. */
export const R0 = 0 as const;
/** First argument; holds the context pointer at program entry. */
export const R1 = 1 as const;
export const R2 = 2 as const;
export const R3 = 3 as const;
export const R4 = 4 as const;
/** Fifth and last argument register. */
export const R5 = 5 as const;
/** First callee-saved register. */
export const R6 = 6 as const;
export const R7 = 7 as const;
export const R8 = 8 as const;
/** Last callee-saved register. */
export const R9 = 9 as const;
/** Read-only frame pointer (top of the 512-byte stack). */
export const R10 = 10 as const;
/** Alias of R10. */
export const RFP = R10;

/** Number of registers (R0..R10). */
export const REGISTER_COUNT = 11;

/** Whether `value` is a valid register number. */
export function isRegister(value: unknown): value is Register {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 10;
}

/** Assembly name of a register: `r3`, or `w3` for its 32-bit view. */
export function registerName(reg: number, wide = true): string {
  return `${wide ? "r" : "w"}${reg}`;
}
