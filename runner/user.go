package runner

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
)

// User is the account a program runs as.
type User struct {
	Name     string
	UID, GID uint32
	// Home is its home directory, the program's HOME; / when empty.
	Home string
}

// Lookup resolves a user by name from the system's user database.
func Lookup(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %q: %w", name, err)
	}
	return &User{Name: name, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}, nil
}
