// Package realtime keeps a daemon's periodic work on time on a busy machine, as
// keepalived's vrrp_rt_priority and vrrp_no_swap do for its VRRP process.
//
// Priority puts every thread of the process under the real-time policy SCHED_RR
// (sched_setattr(2)): while a thread is runnable, no thread of the default policy
// (SCHED_OTHER), however many, runs on its CPU before it. The processes the daemon
// starts (scripts, hooks) do not inherit the policy (SCHED_FLAG_RESET_ON_FORK), and
// neither do threads the Go runtime adds later: a Keeper moves those within one sweep
// interval. Linux keeps 5 % of each second for other policies (sched_rt_runtime_us),
// so a real-time thread that spins cannot take a CPU whole.
//
// LockMemory locks the process's pages in memory (mlockall(2)), so that no page the
// daemon touches waits for the disk. It costs resident memory: every mapped page is
// faulted in and stays.
//
// Both need privileges: CAP_SYS_NICE (or RLIMIT_RTPRIO) and CAP_IPC_LOCK (or a large
// enough RLIMIT_MEMLOCK). Under systemd, RestrictRealtime=yes refuses SCHED_RR.
package realtime
