//go:build !linux

package tracker

// pidWatcher does nothing where there are no pidfds: exits are found by rescans.
type pidWatcher struct{}

func newPidWatcher(bool, chan<- struct{}) *pidWatcher { return &pidWatcher{} }
func (w *pidWatcher) works() bool                     { return false }
func (w *pidWatcher) watch([]int)                     {}
func (w *pidWatcher) close()                          {}
