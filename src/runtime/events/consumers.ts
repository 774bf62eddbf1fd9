// One consumer per ring: the process-wide record of which ring buffers and perf event array slots a
// reader of this process consumes, keyed by the kernel's map id (a map opened twice — from a pin, by
// id, in two collections — is the same ring). Kept on globalThis so two copies of tsbpf loaded in one
// process still see each other's readers.

import { ConsumerConflictError } from "../../errors.js";
import type { BpfMap } from "../map.js";

const REGISTRY = Symbol.for("tsbpf.events.consumers");

/** Keys of the slots held: `ringbuf:<map id>`, `perf:<map id>:<cpu>`. */
function held(): Set<string> {
  const g = globalThis as { [REGISTRY]?: Set<string> };
  return (g[REGISTRY] ??= new Set());
}

/** A claim on some slots; {@link release} gives them back (idempotent). */
export interface ConsumerClaim {
  readonly mapId: number;
  release(): void;
}

/**
 * Claim the ring buffer `map` for one reader of this process. Throws RINGBUF_READER_EXISTS when a
 * reader of this process already consumes it.
 */
export function claimRing(map: BpfMap): ConsumerClaim {
  const id = map.info().id;
  return claim(id, [`ringbuf:${id}`], () =>
    new ConsumerConflictError(
      "RINGBUF_READER_EXISTS",
      map.name,
      id,
      `ring buffer "${map.name}" (map id ${id}) already has a reader in this process: a ring buffer has exactly one consumer ` +
        `(two would each see only part of the records, or corrupt the consumer position). ` +
        `Close the first reader before opening another, or share it (one RingBufReader can read several rings).`,
    ),
  );
}

/**
 * Claim the perf event array slots of `cpus` of `map` for one reader of this process. Throws
 * PERFBUF_READER_EXISTS when a reader of this process already holds one of them.
 */
export function claimPerfSlots(map: BpfMap, cpus: readonly number[]): ConsumerClaim {
  const id = map.info().id;
  return claim(id, cpus.map((c) => `perf:${id}:${c}`), (taken) =>
    new ConsumerConflictError(
      "PERFBUF_READER_EXISTS",
      map.name,
      id,
      `perf buffer "${map.name}" (map id ${id}) already has a reader in this process for cpu ${taken.map((k) => k.split(":")[2]).join(", cpu ")}: ` +
        `a second reader would replace the first one's events in the map, which would then receive nothing. ` +
        `Close the first reader before opening another, or share it.`,
    ),
  );
}

function claim(mapId: number, keys: readonly string[], conflict: (taken: string[]) => Error): ConsumerClaim {
  const registry = held();
  const taken = keys.filter((k) => registry.has(k));
  if (taken.length > 0) throw conflict(taken);
  for (const k of keys) registry.add(k);
  let released = false;
  return {
    mapId,
    release() {
      if (released) return;
      released = true;
      for (const k of keys) registry.delete(k);
    },
  };
}
