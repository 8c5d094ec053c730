package keepalived

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
)

// Errors of splitCommand.
var (
	errOpenQuote  = errors.New("a quote is not closed")
	errLoneEscape = errors.New(`a \ ends the line with nothing to escape`)
)

// splitCommand splits s as keepalived splits a command line (vrrp_script's script,
// notify_*): words separated by white space, each made of plain text, '...' and "..."
// parts, with backslash escapes inside and outside quotes (\n, \t, \nnn octal, \xHH,
// \cC, and \C for any other C). shell reports whether one of the characters a shell
// treats specially (| & ; < > ( ) $ `) appears outside quotes and unescaped: keepalived
// runs commands without a shell, so it passed them to the command as they were.
func splitCommand(s string) (words []string, shell bool, err error) {
	var word strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return nil, false, errLoneEscape
			}
			var n int
			c, n = unescape(s[i+1:])
			i += n
			word.WriteByte(c)
			inWord = true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			word.WriteByte(c)
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case strings.IndexByte(whiteSpace, c) >= 0:
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			if strings.IndexByte("|&;<>()$`", c) >= 0 {
				shell = true
			}
			word.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, false, errOpenQuote
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, shell, nil
}

// unescape decodes the escape sequence at the start of s (the text after a \) as
// keepalived does, returning the byte and how many bytes of s it used.
func unescape(s string) (byte, int) {
	switch c := s[0]; {
	case c == 'x' && len(s) > 1 && isHex(s[1]):
		var v byte
		n := 1
		for n < len(s) && isHex(s[n]) {
			v = v<<4 | hexValue(s[n])
			n++
		}
		return v, n
	case c == 'c' && len(s) > 1:
		return s[1] & 0x1f, 2
	case c >= '0' && c <= '7':
		v, n := c-'0', 1
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v<<3 | (s[n] - '0')
			n++
		}
		return v, n
	case c == 'a':
		return '\a', 1
	case c == 'b':
		return '\b', 1
	case c == 'E':
		return 0x1b, 1
	case c == 'f':
		return '\f', 1
	case c == 'n':
		return '\n', 1
	case c == 'r':
		return '\r', 1
	case c == 't':
		return '\t', 1
	case c == 'v':
		return '\v', 1
	default:
		return c, 1 // \C is C: \\, \", \' and the rest
	}
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexValue(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// command is a keepalived command line read from a statement: the command string and
// the user and group after it, if any.
type command struct {
	pos   Pos
	what  string // the keyword, for messages
	text  string // the command string, after the first split
	user  string
	group string
}

// readCommand reads the command of statement l as keepalived does: the statement split
// with quotes and escapes, whose second word is the command string and whose third and
// fourth, when present, a user and a group.
func readCommand(l line) (command, error) {
	words, _, err := splitCommand(l.text)
	if err != nil {
		return command{}, err
	}
	c := command{pos: l.pos, what: l.words[0]}
	if len(words) > 1 {
		c.text = words[1]
	}
	if len(words) > 2 {
		c.user = words[2]
	}
	if len(words) > 3 {
		c.group = words[3]
	}
	return c, nil
}

// shells are the shells whose "-c" argument convert leaves as it is.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true, "ksh": true, "zsh": true, "busybox": true}

// argv turns the command string into the argument list vrrpd runs, noting every
// difference from what keepalived ran:
//
//   - shell syntax outside quotes (keepalived passed it on as arguments) is run by
//     /bin/sh -c, which reads it as it looks; appendArgs adds "$@" so that the
//     arguments vrrpd appends (notify) still reach the command;
//   - a command that is not an absolute path, which keepalived found on $PATH, is
//     resolved with Options.LookPath, or else run through /usr/bin/env, which searches
//     $PATH as keepalived did.
//
// It returns nil, with a note, for a command it cannot split.
func (cv *converter) argv(c command, appendArgs bool) []string {
	args, shell, err := splitCommand(c.text)
	switch {
	case err != nil:
		cv.rep.skip(c.pos, c.what, "the command %q cannot be split: %v (keepalived does not run it either)", c.text, err)
		return nil
	case len(args) == 0:
		cv.rep.skip(c.pos, c.what, "the command is empty (keepalived does not run it either)")
		return nil
	}
	if len(args) >= 3 && shells[path.Base(args[0])] && args[1] == "-c" {
		shell = false // already a shell, told what to run
	}
	if shell {
		script := c.text
		argv := []string{"/bin/sh", "-c", script}
		if appendArgs {
			argv = []string{"/bin/sh", "-c", script + ` "$@"`, "sh"}
		}
		cv.rep.change(c.pos, c.what, "%q uses shell syntax, which keepalived passed to the command as plain arguments (it runs commands "+
			"without a shell); written as %s, which runs it as it reads: check that it still does what it did",
			c.text, flowList(argv))
		return argv
	}
	if filepath.IsAbs(args[0]) {
		return args
	}
	if full, err := cv.opts.lookPath(args[0]); err == nil && filepath.IsAbs(full) {
		cv.rep.change(c.pos, c.what, "%s is not an absolute path: keepalived searched $PATH for it; written as %s, where it is on this machine",
			args[0], full)
		return append([]string{full}, args[1:]...)
	}
	argv := append([]string{"/usr/bin/env"}, args...)
	cv.rep.change(c.pos, c.what, "%s is not an absolute path and was not found here: keepalived searched $PATH for it; written as %s, "+
		"which searches $PATH too (better: write the full path)", args[0], flowList(argv))
	return argv
}

// flowList formats a list as YAML's [a, b] for messages.
func flowList(items []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		if it == "" || strings.ContainsAny(it, " ,[]{}:#'\"&*!|>%@`") || strings.HasPrefix(it, "-") {
			b.WriteString(`"` + strings.ReplaceAll(strings.ReplaceAll(it, `\`, `\\`), `"`, `\"`) + `"`)
		} else {
			b.WriteString(it)
		}
	}
	b.WriteByte(']')
	return b.String()
}
