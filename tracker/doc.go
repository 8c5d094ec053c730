// Package tracker turns health inputs (scripts, interfaces, processes, files, HAProxy)
// into changes of effective priority and faults for the vrrp state machine.
package tracker
