// Zero-copy views: accessor objects whose getters/setters read and write the underlying buffer directly
// (for mmap'd maps and ring buffer records). One view class is built per layout, on first use.

import { LayoutError, LayoutErrorCode } from "./errors.js";
import { toLayoutError, type Codec } from "./layout.js";

const DV: unique symbol = Symbol("tsbpf.view.buffer");
const AT: unique symbol = Symbol("tsbpf.view.offset");
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * Writes through a codec from a view setter, converting faults to LayoutError. Aggregates are encoded into a
 * scratch buffer first so a rejected value leaves the live bytes untouched.
 */
function setThrough(owner: Codec, c: Codec, dv: DataView, at: number, v: unknown, prefix: string): void {
  try {
    if (typeof v !== "object" || v === null) {
      c.write(dv, at, v, false);
    } else {
      const scratch = new DataView(new ArrayBuffer(c.size));
      c.write(scratch, 0, v, false);
      new Uint8Array(dv.buffer, at, c.size).set(new Uint8Array(scratch.buffer));
    }
  } catch (e) {
    throw toLayoutError(e, "set", owner, prefix);
  }
}

/** `{ value }` accessor for a scalar or string. */
export class ScalarBox {
  constructor(
    private readonly c: Codec,
    private readonly dv: DataView,
    private readonly at: number,
  ) {}
  get value(): unknown {
    return this.c.read(this.dv, this.at);
  }
  set value(v: unknown) {
    setThrough(this.c, this.c, this.dv, this.at, v, "");
  }
  [INSPECT](): unknown {
    return { value: this.value };
  }
}

/** Base of struct/union view classes. Fields are accessors on the per-layout prototype. */
class RecordView {
  declare [DV]: DataView;
  declare [AT]: number;
  constructor(dv: DataView, at: number) {
    this[DV] = dv;
    this[AT] = at;
    Object.preventExtensions(this);
  }
}

/** A member of a struct or union, for building its view class. */
export interface MemberSpec {
  readonly name: string;
  readonly offset: number;
  readonly codec: Codec;
}

/** Builds the view constructor of a struct/union: one accessor per (non-padding) member. */
export function recordViewClass(
  owner: Codec,
  members: readonly MemberSpec[],
): new (dv: DataView, at: number) => object {
  const cls = class extends RecordView {};
  for (const { name, offset, codec } of members) {
    const prefix = "." + name;
    Object.defineProperty(cls.prototype, name, {
      enumerable: true,
      configurable: false,
      get(this: RecordView): unknown {
        return codec.access(this[DV], this[AT] + offset);
      },
      set(this: RecordView, v: unknown) {
        setThrough(owner, codec, this[DV], this[AT] + offset, v, prefix);
      },
    });
  }
  Object.defineProperty(cls.prototype, INSPECT, {
    value(this: RecordView): unknown {
      return owner.read(this[DV], this[AT]);
    },
  });
  return cls;
}

/** Index accessors are put on the prototype up to this length; longer arrays are wrapped in a Proxy. */
const MAX_INDEX_ACCESSORS = 4096;

class ArrayViewBase {
  declare [DV]: DataView;
  declare [AT]: number;
  constructor(dv: DataView, at: number) {
    this[DV] = dv;
    this[AT] = at;
    Object.preventExtensions(this);
  }
}

/** Internal: whether `v` is an array view (so an encoder can copy from it like from an array). */
export function isArrayView(v: unknown): v is { toArray(): unknown[] } {
  return v instanceof ArrayViewBase;
}

/** Builds the view constructor of an array layout of `length` elements of `elem` with stride `stride`. */
export function arrayViewFactory(
  owner: Codec,
  elem: Codec,
  length: number,
  stride: number,
): (dv: DataView, at: number) => object {
  const check = (i: unknown): number => {
    if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= length) {
      throw new LayoutError(
        LayoutErrorCode.Range,
        `view ${owner.label}: index ${String(i)} is out of bounds (length ${length})`,
      );
    }
    return i;
  };
  const cls = class extends ArrayViewBase {
    get length(): number {
      return length;
    }
    get(i: number): unknown {
      return elem.access(this[DV], this[AT] + check(i) * stride);
    }
    set(i: number, v: unknown): void {
      setThrough(owner, elem, this[DV], this[AT] + check(i) * stride, v, `[${i}]`);
    }
    toArray(): unknown {
      return owner.read(this[DV], this[AT]);
    }
    *[Symbol.iterator](): IterableIterator<unknown> {
      for (let i = 0; i < length; i++) yield elem.access(this[DV], this[AT] + i * stride);
    }
    [INSPECT](): unknown {
      return owner.read(this[DV], this[AT]);
    }
  };
  if (length <= MAX_INDEX_ACCESSORS) {
    for (let i = 0; i < length; i++) {
      const off = i * stride;
      const prefix = `[${i}]`;
      Object.defineProperty(cls.prototype, i, {
        enumerable: true,
        get(this: ArrayViewBase): unknown {
          return elem.access(this[DV], this[AT] + off);
        },
        set(this: ArrayViewBase, v: unknown) {
          setThrough(owner, elem, this[DV], this[AT] + off, v, prefix);
        },
      });
    }
    return (dv, at) => new cls(dv, at);
  }
  const handler: ProxyHandler<ArrayViewBase & { get(i: number): unknown; set(i: number, v: unknown): void }> = {
    get(target, key, receiver) {
      if (typeof key === "string" && isIndex(key)) return target.get(Number(key));
      return Reflect.get(target, key, receiver);
    },
    set(target, key, value, receiver) {
      if (typeof key === "string" && isIndex(key)) {
        target.set(Number(key), value);
        return true;
      }
      return Reflect.set(target, key, value, receiver);
    },
  };
  return (dv, at) => new Proxy(new cls(dv, at), handler);
}

function isIndex(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57 && String(Number(key)) === key;
}
