// Command dbrs inspects, checks, repairs and copies a native dbrs database
// (a folder written by platform/native), without the program's schema: it
// reads the tables from the log's own schema records and decodes keys and
// values as generic msgpack.
//
// Install it with
//
//	go install github.com/dbrs-db/dbrs/cmd/dbrs@latest
//
// Run "dbrs help" for the commands and "dbrs COMMAND --help" for each one's
// flags. The commands that only read (stat, dump, get, keys, verify,
// export) open the folder read-only and take no lock, so they run beside an
// application that has the database open and show its state as of the
// read. compact, repair --yes and import need the folder to themselves.
//
// Exit status: 0 on success; 1 when the answer is "no" (verify or a repair
// dry run found damage, get or keys found no such value, dump --records
// stopped at damage); 2 on any error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitNo    = 1 // the command ran, and its answer is no
	exitError = 2
)

// errNo is returned by a command whose answer is no (damage found, no such
// key) after it has said so: run exits with exitNo and prints nothing more.
var errNo = errors.New("dbrs: the answer is no")

// command is one subcommand.
type command struct {
	name    string
	args    string // the positional arguments, for usage
	summary string // one line, for the command list
	help    string // the rest of the --help text
	// setup declares the command's flags on fs and returns the function
	// that runs it with the positional arguments.
	setup func(fs *flag.FlagSet, c *cli) func(args []string) error
	nargs [2]int // minimum and maximum positional arguments
}

var commands []*command // set in init: the commands refer to the usage

func init() {
	commands = []*command{
		statCommand, dumpCommand, getCommand, keysCommand, verifyCommand,
		compactCommand, repairCommand, exportCommand, importCommand,
	}
}

// cli is one run of the program: its streams and whether stderr is a
// terminal (which turns progress bars on).
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	progress       bool
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, progress: isTerminal(stderr)}
	if len(args) == 0 {
		usage(stderr)
		return exitError
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if cmd := findCommand(args[1]); cmd != nil {
				return c.runCommand(cmd, []string{"--help"})
			}
			fmt.Fprintf(stderr, "dbrs: unknown command %q\n", args[1])
			return exitError
		}
		usage(stdout)
		return exitOK
	}
	cmd := findCommand(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "dbrs: unknown command %q; run \"dbrs help\" for the list\n", name)
		return exitError
	}
	return c.runCommand(cmd, args[1:])
}

func findCommand(name string) *command {
	i := slices.IndexFunc(commands, func(c *command) bool { return c.name == name })
	if i < 0 {
		return nil
	}
	return commands[i]
}

func (c *cli) runCommand(cmd *command, args []string) int {
	fs := flag.NewFlagSet("dbrs "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runFn := cmd.setup(fs, c)
	fs.Usage = func() { commandUsage(c.stdout, cmd, fs) }
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(c.stdout, cmd, fs)
		return exitOK
	}
	if err == nil && (len(pos) < cmd.nargs[0] || len(pos) > cmd.nargs[1]) {
		err = fmt.Errorf("want %s", cmd.args)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "dbrs %s: %v\nusage: dbrs %s [flags] %s (dbrs %s --help for more)\n", cmd.name, err, cmd.name, cmd.args, cmd.name)
		return exitError
	}
	switch err := runFn(pos); {
	case err == nil:
		return exitOK
	case errors.Is(err, errNo):
		return exitNo
	default:
		fmt.Fprintln(c.stderr, err)
		return exitError
	}
}

// parseInterspersed parses flags that come before, between or after the
// positional arguments, which it returns. After "--" everything is
// positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" && !isFlagValue(fs, args[:n-1]) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// isFlagValue reports whether the argument after consumed would be the
// value of a flag (consumed ends with a non-boolean flag without "=").
func isFlagValue(fs *flag.FlagSet, consumed []string) bool {
	if len(consumed) == 0 {
		return false
	}
	last := strings.TrimLeft(consumed[len(consumed)-1], "-")
	if last == consumed[len(consumed)-1] || strings.Contains(last, "=") {
		return false
	}
	f := fs.Lookup(last)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

func usage(w io.Writer) {
	fmt.Fprint(w, `dbrs inspects, checks, repairs and copies a native dbrs database folder.
It needs no schema: tables come from the log's own schema records, and keys
and values are shown as JSON.

Usage:
  dbrs COMMAND [flags] ARGUMENTS

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-8s %-24s %s\n", cmd.name, cmd.args, cmd.summary)
	}
	fmt.Fprint(w, `
stat, dump, get, keys, verify and export only read: they take no lock and
run beside an application that has the database open. compact, repair --yes
and import need the folder to themselves.

Run "dbrs COMMAND --help" for a command's flags. Exit status: 0 success;
1 the answer is no (verify or a repair dry run found damage, get or keys
found no such value, dump --records stopped at damage); 2 any error.
`)
}

func commandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: dbrs %s [flags] %s\n\n%s\n\n%s\n", cmd.name, cmd.args, cmd.summary+".", strings.TrimSpace(cmd.help))
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.VisitAll(func(f *flag.Flag) {
		name, use := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n", f.Name, name, strings.ReplaceAll(use, "\n", "\n    \t"))
	})
}
