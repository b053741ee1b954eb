package ctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"tollgate/agent/localapi"
	"tollgate/cli"
	"tollgate/config"
)

// gateBudget bounds the gate's question to the agent: a product's start is never held longer.
const gateBudget = 3 * time.Second

// gateLine is the command line Windows gives the gate (Image File Execution Options put the
// gate's own command before the product's): its flags, and the product's command line verbatim.
type gateLine struct {
	config, socket string
	product        string // the product's command line, as Windows passed it
	exe            string // the product's executable path, its first token
}

// parseGateLine splits `"C:\...\tollgate.exe" gate [--config F] [--socket S] PRODUCT ARGS...` as
// Windows quotes command lines: a token in double quotes runs to the next quote, any other to
// the next space. The product's part is kept byte for byte, so its own quoting survives.
func parseGateLine(cmdline string) (gateLine, error) {
	var g gateLine
	rest := cmdline
	next := func() string {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			return ""
		}
		var tok string
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				tok, rest = rest[1:], ""
				return tok
			}
			tok, rest = rest[1:1+end], rest[2+end:]
			return tok
		}
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			tok, rest = rest, ""
			return tok
		}
		tok, rest = rest[:end], rest[end:]
		return tok
	}
	next() // tollgate.exe
	if next() != "gate" {
		return g, errors.New("the gate's command line must start with the tollgate binary and gate")
	}
	for {
		before := rest
		switch tok := next(); tok {
		case "--config":
			g.config = next()
		case "--socket":
			g.socket = next()
		default:
			rest = strings.TrimLeft(before, " \t")
			g.product = rest
			g.exe = next()
			if g.exe == "" {
				return g, errors.New("gate takes the product's command line: Windows passes it when the product's Image File Execution Options name tollgate gate as its Debugger")
			}
			return g, nil
		}
	}
}

// gateOS is what the gate needs from the OS: ask the agent, start the product past the gate and
// wait for it, show a denial.
type gateOS struct {
	check  func(ctx context.Context, socket, product string) (localapi.CheckResult, error)
	start  func(cmdline string) (wait func() (int, error), err error)
	notify func(title, body string)
}

// runGateLine decides one launch: a product the catalogue does not name starts; one it names
// starts when the agent allows it, and when the agent cannot answer within gateBudget (the
// agent's process watch still decides once it runs); a denial is shown and the product does
// not start. It returns the exit code: the product's, or exitDenied.
func runGateLine(ctx context.Context, g gateLine, configFile string, osx gateOS) (int, error) {
	if g.config != "" {
		configFile = g.config
	}
	product := ""
	if cfg, err := config.Load(configFile); err == nil {
		for _, p := range cfg.Products {
			if p.Matches(g.exe, nil, "windows") {
				product = p.ID
				break
			}
		}
	}
	if product != "" {
		cctx, cancel := context.WithTimeout(ctx, gateBudget)
		res, err := osx.check(cctx, g.socket, product)
		cancel()
		if err == nil && !res.Allowed {
			body := res.Message
			if res.Contact != "" {
				body += "\nContact " + res.Contact + "."
			}
			osx.notify(res.Name+" was not started", body)
			return cli.ExitDenied, nil
		}
	}
	wait, err := osx.start(g.product)
	if err != nil {
		return 1, err
	}
	return wait()
}

// RunGate is `tollgate gate`: Windows runs it in place of a gated product. It reads the
// raw command line itself, since the product's arguments are no flags of ours.
func RunGate(ctx context.Context, e cli.Env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(e.Stdout, `Usage: tollgate gate PRODUCT [ARGS...]

Not run by hand: with the launch gate on (install --launch-gate), Windows runs it in place
of each catalogue product, with the product's command line. It asks the agent, starts the
product when it is allowed and shows why when it is not.
`)
		return nil
	}
	code, err := Gate(ctx, gateCommandLine(), defaultConfigFile(), nil)
	if err != nil {
		return err
	}
	if code != 0 {
		return &cli.ExitError{Code: code}
	}
	return nil
}

// Gate decides the launch on cmdline, the command line Windows gave the gate, as RunGate
// does, against the catalogue in configFile unless the line names another; notify shows a
// denial (nil: the OS's message box). It returns the exit code: the product's, or
// cli.ExitDenied. A line that is no gate's is a *cli.UsageError.
func Gate(ctx context.Context, cmdline, configFile string, notify func(title, body string)) (int, error) {
	g, err := parseGateLine(cmdline)
	if err != nil {
		return 1, &cli.UsageError{Path: "tollgate gate", Msg: err.Error()}
	}
	osx := systemGate()
	if notify != nil {
		osx.notify = notify
	}
	return runGateLine(ctx, g, configFile, osx)
}

// catalogueExes lists the exe names the catalogue matches on, for the launch gate's entries.
func catalogueExes(cfg *config.Config) []string {
	var exes []string
	for _, p := range cfg.Products {
		exes = append(exes, p.Match.Exe...)
	}
	return exes
}
