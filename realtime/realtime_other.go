//go:build !linux

package realtime

func setThreads(priority int) error {
	if priority == 0 {
		return nil
	}
	return ErrNotSupported
}

// LockMemory is not supported here.
func LockMemory(on bool) error {
	if !on {
		return nil
	}
	return ErrNotSupported
}

// Policy is not supported here.
func Policy(tid int) (string, error) { return "", ErrNotSupported }
