// Settings of the fuzz tests (test/unit/fuzz-objects.test.ts, test/unit/compiler-fuzz.test.ts), from
// the environment so that CI runs them on a budget and a failure can be replayed:
//   TSBPF_FUZZ_SEED        a number (default: the test's fixed seed), or "random" for a fresh one
//   TSBPF_FUZZ_ITERATIONS  most cases to run (default: the test's count)
//   TSBPF_FUZZ_BUDGET_MS   stop starting new cases after this many milliseconds (default: the test's)
// The seed in use is printed (test diagnostic and stderr) with the command that replays a case.

/** Seed, case count and time budget of one fuzz test. */
export interface FuzzSettings {
  readonly seed: number;
  readonly iterations: number;
  readonly budgetMs: number;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${raw}: expected a non-negative integer`);
  return n;
}

/** The settings for a fuzz test, given its defaults. */
export function fuzzSettings(defaults: FuzzSettings): FuzzSettings {
  const seedRaw = process.env.TSBPF_FUZZ_SEED;
  const seed = seedRaw === "random" ? Math.floor(Math.random() * 2 ** 31) : envNumber("TSBPF_FUZZ_SEED", defaults.seed);
  return { seed, iterations: envNumber("TSBPF_FUZZ_ITERATIONS", defaults.iterations), budgetMs: envNumber("TSBPF_FUZZ_BUDGET_MS", defaults.budgetMs) };
}

/** Prints the seed of a run and how to replay it (to the test's diagnostics and to stderr). */
export function announceSeed(t: { diagnostic(message: string): void }, what: string, s: FuzzSettings, replay: string): void {
  const line = `${what}: seed ${s.seed} (up to ${s.iterations} cases in ${s.budgetMs} ms); replay: TSBPF_FUZZ_SEED=${s.seed} or ${replay}`;
  t.diagnostic(line);
  process.stderr.write(line + "\n");
}
