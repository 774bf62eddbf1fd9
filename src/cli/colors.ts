// Colours for the tsbpf command: on when stdout is a terminal (and TERM is not "dumb"), or when
// FORCE_COLOR asks for them; off when piped or when NO_COLOR is set. (picocolors' own default also
// turns them on whenever a CI variable exists, which would put escape codes in piped output.)

import picocolors from "picocolors";

function enabled(env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false") return true;
  return process.stdout.isTTY === true && env.TERM !== "dumb";
}

/** picocolors' functions, enabled as above. */
const pc = picocolors.createColors(enabled(process.env));
export default pc;
