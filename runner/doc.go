// Package runner runs the programs vrrpd starts on the user's behalf, check scripts and
// notify hooks, with one recipe, so that both get the same protections:
//
//   - Check refuses a program that a user other than root (or the user it runs as)
//     could change: keepalived's enable_script_security, always on in vrrpd. Run checks
//     again before each run, since the file may have changed since the configuration
//     was loaded.
//   - Run starts argv directly (no shell unless argv names one) in / with a minimal
//     environment (PATH, HOME and what the caller adds), in a process group of its own,
//     as the user it is given, without the daemon's supplementary groups. Past its
//     timeout, or when its context ends, the whole group is killed with SIGKILL, so that
//     what the program started dies with it; a child that keeps the output open after
//     the program exited delays the result by at most a short WaitDelay.
//   - The tail of the output (standard output and error together) is kept, for the last
//     line a check script reports or the tail a hook's log shows.
//
// Lookup resolves a user by name; callers that must follow a configuration change look
// the user up at each run.
package runner
