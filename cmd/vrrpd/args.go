package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns the flag set of a command whose usage is synopsis (the command
// line, such as "vrrpd show [flags] [INSTANCE]") and what, a sentence on what it does,
// followed by the flags. Errors go to stderr.
func newFlagSet(name, synopsis, what string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\n%s\n", synopsis, what)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(fs.Output(), "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseArgs parses args into fs with the flags anywhere among the positional arguments,
// as operators type them (vrrpd show web --json); after "--" everything is positional.
// It returns the positional arguments, at most maxArgs of them. When ok is false the
// command ends with code: 0 after -h or --help, whose usage goes to stdout; 2 after a
// bad flag or one argument too many, with the error and the usage line on fs's output.
func parseArgs(fs *flag.FlagSet, args []string, maxArgs int, stdout io.Writer) (positional []string, code int, ok bool) {
	usage := fs.Usage
	// The flag package prints the usage itself, to the error output, before it returns
	// flag.ErrHelp or an error: hold it back, to print it once, where it belongs.
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			usage()
			return nil, 0, false
		}
		if err != nil { // the flag package has printed it
			printUsageLine(fs, usage)
			return nil, 2, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	if len(positional) > maxArgs {
		fmt.Fprintf(fs.Output(), "vrrpd %s: unexpected argument %q\n", fs.Name(), positional[maxArgs])
		printUsageLine(fs, usage)
		return nil, 2, false
	}
	return positional, 0, true
}

// usageError prints a problem with the command line, and the usage line, on fs's output,
// and returns the exit status for it.
func usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "vrrpd %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	printUsageLine(fs, fs.Usage)
	return 2
}

// printUsageLine prints the first line of the usage, which shows the command line, and
// where the rest is: after a mistake the whole usage would bury the message.
func printUsageLine(fs *flag.FlagSet, usage func()) {
	out := fs.Output()
	var b strings.Builder
	fs.SetOutput(&b)
	usage()
	fs.SetOutput(out)
	line, _, _ := strings.Cut(b.String(), "\n")
	fmt.Fprintf(out, "%s\nRun 'vrrpd %s --help' for more.\n", line, fs.Name())
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
