package main

import (
	"io"
	"os"
)

// palette colours what show and events print for a person: only on a terminal, and
// never with NO_COLOR set (https://no-color.org) or on a dumb terminal.
type palette struct{ on bool }

func newPalette(w io.Writer) palette {
	return palette{on: isTerminal(w) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
}

// SGR codes, each of two digits: every painted cell of a column then carries the same
// number of bytes besides its text, and tabwriter aligns it as it aligns plain text.
const (
	sgrBold   = "01"
	sgrRed    = "31"
	sgrGreen  = "32"
	sgrYellow = "33"
	sgrPlain  = "39"
)

func (p palette) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// state paints a state: MASTER green, FAULT red, INIT and STOP yellow.
func (p palette) state(s string) string {
	switch s {
	case "MASTER":
		return p.paint(sgrGreen, s)
	case "BACKUP":
		return p.paint(sgrPlain, s)
	case "FAULT":
		return p.paint(sgrRed, s)
	}
	return p.paint(sgrYellow, s)
}
