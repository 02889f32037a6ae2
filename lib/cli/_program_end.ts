/**
 * How a traced program ended, in words: its exit code, or the signal that
 * killed it (`killed by SIGSEGV (exit code 139)`), for the native text
 * report, its JSON and the HTML report's subtitle.
 *
 * @module
 */

// Linux's signal names, by number (x86-64).
const _SIGNALS = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** A signal's name (SIGSEGV), or SIGRTMIN+n, or `signal n`. */
export function signalName(sig: number): string {
  if (sig > 0 && sig < _SIGNALS.length) return _SIGNALS[sig];
  return sig >= 34 && sig <= 64 ? `SIGRTMIN+${sig - 34}` : `signal ${sig}`;
}

/** How a program ended: `exit code 3`, or `killed by SIGSEGV (exit code 139)`. */
export function endOf(code: number, signal = 0): string {
  return signal > 0
    ? `killed by ${signalName(signal)} (exit code ${code})`
    : `exit code ${code}`;
}
