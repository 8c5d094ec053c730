package realtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// passes bounds the passes of setThreads: a thread made while one pass runs is moved
// by the next.
const passes = 5

// setThreads moves every thread of the process to SCHED_RR at priority, or to
// SCHED_OTHER at 0, with SCHED_FLAG_RESET_ON_FORK so that no child inherits it.
func setThreads(priority int) error {
	if priority < 0 || priority > MaxPriority {
		return fmt.Errorf("realtime: priority %d is out of range 0..%d", priority, MaxPriority)
	}
	want := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(priority), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if priority == 0 {
		want = unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}
	}
	for range passes {
		tids, err := threads()
		if err != nil {
			return err
		}
		moved := 0
		for _, tid := range tids {
			cur, err := unix.SchedGetAttr(tid, 0)
			if errors.Is(err, unix.ESRCH) {
				continue // the thread ended meanwhile
			}
			if err != nil {
				return fmt.Errorf("realtime: read the policy of thread %d: %w", tid, err)
			}
			if cur.Policy == want.Policy && cur.Priority == want.Priority && cur.Flags&unix.SCHED_FLAG_RESET_ON_FORK == want.Flags {
				continue
			}
			attr := want
			if err := unix.SchedSetAttr(tid, &attr, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("realtime: set %s for thread %d: %w", describe(priority), tid, err)
			}
			moved++
		}
		if moved == 0 {
			return nil
		}
	}
	return nil
}

func describe(priority int) string {
	if priority == 0 {
		return "SCHED_OTHER"
	}
	return fmt.Sprintf("SCHED_RR priority %d", priority)
}

// threads returns the IDs of the process's threads.
func threads() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("realtime: list threads: %w", err)
	}
	tids := make([]int, 0, len(entries))
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// LockMemory locks every page of the process in memory, now and as it maps more
// (mlockall MCL_CURRENT|MCL_FUTURE); false unlocks them.
func LockMemory(on bool) error {
	if !on {
		if err := unix.Munlockall(); err != nil {
			return fmt.Errorf("realtime: munlockall: %w", err)
		}
		return nil
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
		return fmt.Errorf("realtime: mlockall: %w", err)
	}
	return nil
}

// Policy describes the scheduling policy of thread tid (0: the calling thread):
// "SCHED_RR 10", "SCHED_OTHER".
func Policy(tid int) (string, error) {
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return "", fmt.Errorf("realtime: read the policy of thread %d: %w", tid, err)
	}
	switch attr.Policy {
	case unix.SCHED_RR:
		return fmt.Sprintf("SCHED_RR %d", attr.Priority), nil
	case unix.SCHED_FIFO:
		return fmt.Sprintf("SCHED_FIFO %d", attr.Priority), nil
	case unix.SCHED_NORMAL:
		return "SCHED_OTHER", nil
	}
	return fmt.Sprintf("policy %d", attr.Policy), nil
}
