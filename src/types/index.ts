// tsbpf/types: C-compatible struct layouts defined once in TypeScript and shared by userspace and the
// TypeScript→eBPF compiler, with no code generation. See docs/types.md.

export { u8, u16, u32, u64, i8, i16, i32, i64, bool, type ScalarLayout } from "./scalars.js";
export { bytes, type BytesLayout } from "./bytes.js";
export { cstring, type CStringLayout } from "./cstring.js";
export { array, type ArrayLayout } from "./array.js";
export { struct, type StructLayout } from "./struct.js";
export { union, type UnionLayout, type UnionValue, type UnionInput } from "./union.js";
export { padding, type PaddingLayout } from "./padding.js";
export { describe } from "./describe.js";
export { offsetOf, memberOf } from "./offset.js";
export { LayoutError, LayoutErrorCode, type LayoutErrorCodeValue } from "./errors.js";
export { LITTLE_ENDIAN } from "./buffer.js";
export type {
  FieldMap,
  FieldInfo,
  FieldTable,
  StructOptions,
  StructValue,
  StructInput,
  RecordView,
} from "./record.js";
export type {
  Layout,
  AnyLayout,
  LayoutKind,
  ScalarKind,
  Infer,
  Input,
  View,
  FieldView,
  ArrayView,
  ScalarView,
  DeepPartial,
  DecodeSource,
  ViewSource,
} from "./layout.js";
