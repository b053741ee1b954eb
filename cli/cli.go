// Package cli declares the verbs of the tollgate binary one way: each verb has a name, a
// one-line summary, a usage text, its own flags, a rule for its positional arguments and a
// run func; verbs nest in groups ("ledger pack buy"). Run parses, answers --help, and turns
// mistakes into the README's exit codes: 0 done, 1 could not, 2 a mistake in the command
// line, 3 a launch denied.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Exit codes, as the README promises them.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
	ExitDenied = 3
)

// Env is what a verb may touch of the outside world, so tests can run verbs in-process.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	// Path is the verb as typed, such as "tollgate ledger pack buy"; Run sets it.
	Path string
}

// Command is one verb, or a group of verbs when Verbs is set (a group has no Run).
type Command struct {
	Name    string // one word: "buy"
	Summary string // one line, for the parent's list
	Usage   string // what follows the verb on the usage line: "ID [--name N]"; flags are listed below it
	Help    string // paragraphs after the usage line; default: the summary
	Footer  string // a group's text after its list of verbs

	// Flags declares the verb's flags; values live in the closure that builds the Command.
	Flags func(fs *flag.FlagSet)
	// Required are flags that must be given a non-empty value.
	Required []string
	// Args checks the positional arguments; nil takes any number.
	Args func(args []string) error
	// Dash keeps "--" and what follows it out of flag parsing, passed to Run as given.
	Dash bool
	Run  func(ctx context.Context, e Env, args []string) error

	Verbs []*Command
}

// NoArgs refuses positional arguments.
func NoArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("takes no arguments, only flags; got %q", args[0])
	}
	return nil
}

// Exactly wants n positional arguments; msg says what, when there are not.
func Exactly(n int, msg string) func([]string) error {
	return func(args []string) error {
		if len(args) != n {
			if len(args) == 1 {
				return fmt.Errorf("%s (got 1 argument)", msg)
			}
			return fmt.Errorf("%s (got %d arguments)", msg, len(args))
		}
		return nil
	}
}

// UsageError is a mistake in the command line: exit 2, with a pointer to the verb's --help.
type UsageError struct {
	Path string // "tollgate ledger pack buy"; set by Run when empty
	Msg  string
}

func (e *UsageError) Error() string {
	return fmt.Sprintf("%s\nRun '%s --help' for usage.", e.Msg, e.Path)
}

// Usagef is a run func's way to report a mistake in its command line.
func Usagef(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// ExitError carries an exit code, with or without a reason to print.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode reports err once on stderr and maps it to the process's exit code.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "tollgate: %s\n", ue.Error())
		return ExitUsage
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "tollgate:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "tollgate:", err)
	return ExitFailed
}

// Run finds the verb args name under c (whose path is path, such as "tollgate"), parses its
// flags and runs it. --help, -h or "help" prints the usage of the verb or group reached, once,
// to stdout.
func Run(ctx context.Context, c *Command, path string, e Env, args []string) error {
	for len(c.Verbs) > 0 {
		if len(args) == 0 || isHelp(args[0]) {
			c.PrintUsage(e.Stdout, path)
			return nil
		}
		sub := c.Find(args[0])
		if sub == nil && strings.HasPrefix(args[0], "-") {
			return &UsageError{Path: path, Msg: flagFirst(path, c, args[0])}
		}
		if sub == nil {
			return &UsageError{Path: path, Msg: unknown(path, args)}
		}
		c, path, args = sub, path+" "+sub.Name, args[1:]
	}
	var rest []string
	if c.Dash {
		if i := slices.Index(args, "--"); i >= 0 {
			args, rest = args[:i], args[i:]
		}
	}
	fs := c.FlagSet(path)
	pos, err := parseAll(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.PrintUsage(e.Stdout, path)
		return nil
	}
	if err != nil {
		return &UsageError{Path: path, Msg: flagMistake(err)}
	}
	for _, name := range c.Required {
		if f := fs.Lookup(name); f != nil && f.Value.String() == "" {
			return &UsageError{Path: path, Msg: fmt.Sprintf("--%s is required", name)}
		}
	}
	if c.Args != nil {
		if err := c.Args(pos); err != nil {
			_, verb, _ := strings.Cut(path, " ")
			return &UsageError{Path: path, Msg: verb + " " + err.Error()}
		}
	}
	e.Path = path
	err = c.Run(ctx, e, append(pos, rest...))
	var ue *UsageError
	if errors.As(err, &ue) && ue.Path == "" {
		ue.Path = path
	}
	return err
}

// unknown says which command was not found: `unknown ledger command "pack frobnicate"`.
func unknown(path string, args []string) string {
	words := strings.Fields(path)[1:]
	if len(words) == 0 {
		return fmt.Sprintf("unknown command %q", args[0])
	}
	return fmt.Sprintf("unknown %s command %q", words[0], strings.Join(append(words[1:], args[0]), " "))
}

// flagFirst says that a group was given a flag where its command goes: "unknown flag
// --team; ledger pack takes a command first: buy, list, transfer".
func flagFirst(path string, c *Command, flag string) string {
	names := make([]string, len(c.Verbs))
	for i, v := range c.Verbs {
		names[i] = v.Name
	}
	who := path
	if _, rest, ok := strings.Cut(path, " "); ok {
		who = rest
	}
	return fmt.Sprintf("unknown flag %s; %s takes a command first: %s", flag, who, strings.Join(names, ", "))
}

// flagMistake says a flag package error the way people type flags: "unknown flag --colour".
func flagMistake(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag --" + name + " needs a value"
	}
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		return "invalid value " + strings.Replace(rest, " for flag -", " for flag --", 1)
	}
	return msg
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

// Find is the verb of c named name, or nil.
func (c *Command) Find(name string) *Command {
	for _, v := range c.Verbs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// FlagSet is c's flags, silent: Run reports their mistakes once.
func (c *Command) FlagSet(path string) *flag.FlagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if c.Flags != nil {
		c.Flags(fs)
	}
	return fs
}

// parseAll parses flags wherever they stand among the positional arguments, as people type
// them (`tollgate check revit --json`), and returns the positional ones.
func parseAll(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// PrintUsage writes c's usage: a group's verbs, or a verb's usage line, help and flags.
func (c *Command) PrintUsage(w io.Writer, path string) {
	var b strings.Builder
	if len(c.Verbs) > 0 {
		if c.Help != "" {
			b.WriteString(strings.TrimRight(c.Help, "\n") + "\n\n")
		}
		fmt.Fprintf(&b, "Usage:\n")
		fmt.Fprintf(&b, "  %s <command> [arguments]\n\nCommands:\n", path)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, v := range c.leaves("") {
			fmt.Fprintf(tw, "  %s\t%s\n", v[0], v[1])
		}
		tw.Flush()
		if c.Footer != "" {
			b.WriteString("\n" + strings.TrimRight(c.Footer, "\n") + "\n")
		}
		fmt.Fprintf(&b, "\nRun '%s <command> --help' for a command's arguments.\n", path)
		io.WriteString(w, b.String())
		return
	}
	fmt.Fprintf(&b, "Usage: %s", path)
	if c.Usage != "" {
		b.WriteString(" " + c.Usage)
	}
	help := c.Help
	if help == "" && c.Summary != "" {
		help = strings.ToUpper(c.Summary[:1]) + c.Summary[1:] + "."
	}
	fmt.Fprintf(&b, "\n\n%s\n", strings.TrimRight(help, "\n"))
	fs := c.FlagSet(path)
	var n int
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) { writeFlag(&b, f) })
	}
	io.WriteString(w, b.String())
}

// leaves lists c's verbs, sorted, each with its summary; a group without a summary is a
// mere name space, listed as its verbs ("pack buy").
func (c *Command) leaves(prefix string) [][2]string {
	var out [][2]string
	for _, v := range c.Verbs {
		name := strings.TrimSpace(prefix + " " + v.Name)
		if len(v.Verbs) > 0 && v.Summary == "" {
			out = append(out, v.leaves(name)...)
			continue
		}
		if v.Usage != "" && !strings.HasPrefix(v.Usage, "[") && !strings.HasPrefix(v.Usage, "-") {
			name += " " + firstArgs(v.Usage)
		}
		out = append(out, [2]string{name, v.Summary})
	}
	slices.SortStableFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

// firstArgs is a usage's positional part: "ID" of "ID [--name N]".
func firstArgs(usage string) string {
	var words []string
	for _, w := range strings.Fields(usage) {
		if strings.HasPrefix(w, "[") || strings.HasPrefix(w, "-") {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// writeFlag writes one flag the way people type it: "--team string", its help, and its
// default when it has a useful one, never Go-quoted.
func writeFlag(b *strings.Builder, f *flag.Flag) {
	name, usage := flag.UnquoteUsage(f)
	switch f.Value.(type) {
	case *OptInt:
		name = "int"
	case *OptString:
		name = "string"
	}
	fmt.Fprintf(b, "  --%s", f.Name)
	if name != "" {
		fmt.Fprintf(b, " %s", name)
	}
	b.WriteString("\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t"))
	def := f.DefValue
	switch {
	case def == "" || def == "false" || def == "0" || strings.ContainsRune(def, 0):
	default:
		fmt.Fprintf(b, " (default %s)", def)
	}
	b.WriteString("\n")
}

// OptString is a string flag that remembers whether it was given, so "--webhook ”" (clear
// it) differs from no --webhook (keep it) without a sentinel default.
type OptString struct {
	Value string
	Given bool
}

func (o *OptString) String() string { return o.Value }

func (o *OptString) Set(s string) error { o.Value, o.Given = s, true; return nil }

// OptInt is an integer flag that remembers whether it was given.
type OptInt struct {
	Value int64
	Given bool
}

func (o *OptInt) String() string {
	if o == nil || !o.Given {
		return ""
	}
	return strconv.FormatInt(o.Value, 10)
}

func (o *OptInt) Set(s string) error {
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return errors.New("want a whole number")
	}
	o.Value, o.Given = v, true
	return nil
}
