#!/usr/bin/env node
// The tsbpf command line: `tsbpf load`, `tsbpf inspect`, ... (one file per command in commands/).
// Errors are printed as one clear message (the verifier's, for rejected programs) with a non-zero exit.

import { Command } from "commander";
import pc from "./colors.js";
import { TsbpfError, VerifierError } from "../errors.js";
import { buildCommand } from "./commands/build.js";
import { featuresCommand } from "./commands/features.js";
import { genCommand } from "./commands/gen.js";
import { inspectCommand } from "./commands/inspect.js";
import { loadCommand } from "./commands/load.js";

/** Build the CLI (exported for tests). */
export function buildCli(): Command {
  const program = new Command("tsbpf")
    .description("eBPF for TypeScript: build, load, inspect and run eBPF programs")
    .version("0.1.0")
    .showHelpAfterError();
  program.addCommand(buildCommand());
  program.addCommand(loadCommand());
  program.addCommand(inspectCommand());
  program.addCommand(genCommand());
  program.addCommand(featuresCommand());
  return program;
}

/** Print an error the way users should see it and return the exit code. */
export function reportError(e: unknown): number {
  if (e instanceof VerifierError) {
    process.stderr.write(`${pc.red("error")}: ${e.message}\n\n${pc.dim("verifier log:")}\n${e.log.trimEnd()}\n`);
    return 2;
  }
  if (e instanceof TsbpfError) {
    process.stderr.write(`${pc.red("error")} [${e.code}]: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`${pc.red("internal error")}: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  return 70;
}

async function main(): Promise<void> {
  try {
    await buildCli().parseAsync(process.argv);
  } catch (e) {
    process.exitCode = reportError(e);
  }
}

const invokedDirectly = process.argv[1] && /(?:^|[/\\])(?:main\.(?:ts|js)|tsbpf)$/.test(process.argv[1]);
if (invokedDirectly) await main();
