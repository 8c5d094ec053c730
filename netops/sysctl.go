package netops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// procSys is where the kernel's parameters are.
const procSys = "/proc/sys"

// ErrBadSysctl means a sysctl path that is not a plain path under /proc/sys.
var ErrBadSysctl = errors.New("netops: not a sysctl path")

// SetSysctl writes value to the kernel parameter at path under /proc/sys, such as
// net/ipv4/conf/eth0/promote_secondaries (an interface name may hold dots: the path
// form keeps them). Writing the value it has already changes nothing.
func SetSysctl(path, value string) error {
	if path == "" || filepath.IsAbs(path) || filepath.Clean(path) != path || strings.HasPrefix(path, "..") {
		return fmt.Errorf("%w: %q", ErrBadSysctl, path)
	}
	if err := os.WriteFile(filepath.Join(procSys, path), []byte(value+"\n"), 0); err != nil {
		return fmt.Errorf("netops: sysctl %s: %w", path, err)
	}
	return nil
}

// Sysctl reads the kernel parameter at path under /proc/sys.
func Sysctl(path string) (string, error) {
	if path == "" || filepath.IsAbs(path) || filepath.Clean(path) != path || strings.HasPrefix(path, "..") {
		return "", fmt.Errorf("%w: %q", ErrBadSysctl, path)
	}
	b, err := os.ReadFile(filepath.Join(procSys, path))
	if err != nil {
		return "", fmt.Errorf("netops: sysctl %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
