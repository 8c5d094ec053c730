package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrInsecure is wrapped by Check's error (and Run's) for a program that someone other
// than root (or, for a program run by another user, that user) could change.
var ErrInsecure = errors.New("refused: it could be changed by another user")

// Check applies keepalived's enable_script_security, which vrrpd always applies, to the
// program (path, argv[0]) that runs as user u.
//
// When the program would run as root (user or group 0, or a set-user-ID root program),
// every part of the path, from / to the file, as written and with symbolic links
// resolved, must be owned by root, and the directories without the sticky bit and the
// file must be neither group-writable (unless the group is root) nor world-writable:
// otherwise a user could replace what root runs. When it runs as another user, the
// owner may also be that user. The file must be a regular file that someone may
// execute.
func Check(path string, u *User) error {
	if !filepath.IsAbs(path) {
		p, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		path = p
	}
	path = filepath.Clean(path)
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: not executable", path)
	}
	asRoot := u.UID == 0 || u.GID == 0
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		setuidRoot := fi.Mode()&fs.ModeSetuid != 0 && st.Uid == 0 && fi.Mode().Perm()&0o100 != 0
		setgidRoot := fi.Mode()&fs.ModeSetgid != 0 && st.Gid == 0 && fi.Mode().Perm()&0o010 != 0
		asRoot = asRoot || setuidRoot || setgidRoot
	}
	for _, p := range []string{path, resolved} {
		if err := checkPath(p, u.UID, asRoot); err != nil {
			who := "root"
			if !asRoot {
				who = "user " + u.Name
			}
			return fmt.Errorf("%s: %w: %v, and it runs as %s (keepalived's enable_script_security, always on in vrrpd)",
				path, ErrInsecure, err, who)
		}
		if p == resolved {
			break
		}
	}
	return nil
}

// checkPath checks every part of the absolute, clean path p without following links:
// owned by root (or by uid unless asRoot), and no directory without the sticky bit nor
// the file writable by a group other than root or by others. A symbolic link's own
// mode means nothing; its owner and directory are checked, its target by the caller.
func checkPath(p string, uid uint32, asRoot bool) error {
	parts := []string{"/"}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			parts = append(parts, p[:i])
		}
	}
	if p != "/" {
		parts = append(parts, p)
	}
	for _, part := range parts {
		fi, err := os.Lstat(part)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: cannot read its owner", part)
		}
		if st.Uid != 0 && (asRoot || st.Uid != uid) {
			return fmt.Errorf("%s is owned by uid %d", part, st.Uid)
		}
		mode := fi.Mode()
		if mode&fs.ModeSymlink != 0 || mode.IsDir() && mode&fs.ModeSticky != 0 {
			continue
		}
		var why []string
		if mode&0o020 != 0 && st.Gid != 0 {
			why = append(why, fmt.Sprintf("writable by group %d", st.Gid))
		}
		if mode&0o002 != 0 {
			why = append(why, "writable by everyone")
		}
		if len(why) > 0 {
			return fmt.Errorf("%s is %s", part, strings.Join(why, " and "))
		}
	}
	return nil
}
