//go:build !linux

package tracker

import "errors"

// dirWatch is not available without inotify: a file is read once, at start.
type dirWatch struct{}

func watchDir(string) (*dirWatch, error) {
	return nil, errors.ErrUnsupported
}

func (*dirWatch) next() ([]string, error) { return nil, errors.ErrUnsupported }
func (*dirWatch) close()                  {}
