// Package procstart sets the hub's process up before it serves: Go runtime settings that Go reads
// only when a process starts, so that the hub runs with them however it is started (a shell, a
// systemd unit, a container).
package procstart

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// StackSetting is the GODEBUG setting the hub runs with: new goroutines start with Go's smallest
// stack, as before Go 1.19, instead of one as large as the average stack of the goroutines alive
// at the last collection. A hub of thousands of agents holds three parked goroutines per agent
// connection and starts a short-lived one per request. At 10,000 agents over HTTPS it shortened
// people's calls' p99 while the agents' first reports were applied, and lowered the hub's peak
// memory (docs/benchmarks.md, "Goroutines start small").
const StackSetting = "adaptivestackstart=0"

// Reexec replaces the running process with the same program, arguments and environment, plus
// StackSetting in GODEBUG, unless GODEBUG already sets adaptivestackstart (an operator's own
// choice is kept). It returns only if it did not replace the process: nil when there was nothing
// to do, else why it could not (the caller goes on without the setting).
func Reexec() error {
	env, changed := WithStackSetting(os.Environ())
	if !changed {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("starting again with GODEBUG=%s: finding this program: %w", StackSetting, err)
	}
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("starting again with GODEBUG=%s: %w", StackSetting, err)
	}
	return nil // not reached: Exec replaced the process
}

// WithStackSetting returns environ with StackSetting added to GODEBUG, and whether it added it:
// not when GODEBUG already names adaptivestackstart.
func WithStackSetting(environ []string) (env []string, changed bool) {
	const key = "GODEBUG="
	name, _, _ := strings.Cut(StackSetting, "=")
	for i, kv := range environ {
		value, ok := strings.CutPrefix(kv, key)
		if !ok {
			continue
		}
		for _, setting := range strings.Split(value, ",") {
			// Names are matched as Go's runtime reads them: " adaptivestackstart=1" is no setting.
			if n, _, _ := strings.Cut(setting, "="); n == name {
				return environ, false
			}
		}
		env = append([]string(nil), environ...)
		if value == "" {
			env[i] = key + StackSetting
		} else {
			env[i] = key + value + "," + StackSetting
		}
		return env, true
	}
	return append(append([]string(nil), environ...), key+StackSetting), true
}
