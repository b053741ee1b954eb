package installer

import (
	"tollgate/config"
	"tollgate/platform"
)

// setLaunchGate turns the launch gate on for the catalogue in the installed config; a config
// that does not load yet gets its entries from the agent once a push fixes it.
func setLaunchGate(p *Plan) (platform.GateChange, error) {
	var exes []string
	if cfg, err := config.Load(p.Paths.ConfigFile); err == nil {
		for _, pr := range cfg.Products {
			exes = append(exes, pr.Match.Exe...)
		}
	}
	return platform.EnableLaunchGate(gateCommand(p.Binary), exes)
}

// gateCommand is the Debugger value: Windows appends the product's command line to it.
func gateCommand(binary string) string { return `"` + binary + `" gate` }

// clearLaunchGate removes every entry the gate set, and turns it off.
func clearLaunchGate() error {
	_, err := platform.DisableLaunchGate()
	return err
}
