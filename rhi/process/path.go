package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Name is the BGP speaker's program.
const Name = "vrrpd-bgp"

// LibexecDir is where the packages install vrrpd-bgp.
const LibexecDir = "/usr/libexec/vrrpd"

// Path finds vrrpd-bgp: beside the running program (a build's bin directory, or a
// tarball unpacked anywhere), then in LibexecDir.
func Path() (string, error) {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			dirs = append(dirs, filepath.Dir(exe))
		}
	}
	dirs = append(dirs, LibexecDir)
	for _, dir := range dirs {
		p := filepath.Join(dir, Name)
		st, err := os.Stat(p)
		if err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("process: %w", err)
		}
	}
	return "", fmt.Errorf("process: the BGP speaker %s is in none of %q: it is installed with vrrpd", Name, dirs)
}
