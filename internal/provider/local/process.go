package local

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one supervised component of a control plane. It outlives the hub (own process group,
// detached), and a restarted hub adopts it by its recorded PID and command line.
type process struct {
	Name   string   `json:"name"`
	Binary string   `json:"binary"`
	Args   []string `json:"args"`
	PID    int      `json:"pid"`
	// Inputs fingerprints the certificates, keys and kubeconfigs the process reads when it starts
	// (fingerprint); when they change — a certificate renewal — the process is restarted to use
	// them. Recorded with the PID, so a hub that crashes between re-issuing the files and
	// restarting the process restarts it on its next pass.
	Inputs string `json:"inputs,omitempty"`
}

// fingerprint is a digest of the content of files ("" for none).
func fingerprint(paths ...string) (string, error) {
	if len(paths) == 0 {
		return "", nil
	}
	h := sha256.New()
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("fingerprinting %s: %w", path, err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(path), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// current says whether old, a recorded process, is alive and runs as p would: the same command
// line and the same inputs. A process recorded without a fingerprint (by an easel that did not
// take them) is taken as current and given p's fingerprint: fingerprinted is then true, and the
// state must be saved.
func (p *process) current(old *process) (current, fingerprinted bool) {
	if old == nil || old.Binary != p.Binary || !slices.Equal(old.Args, p.Args) || !old.alive() {
		return false, false
	}
	if old.Inputs == "" && p.Inputs != "" {
		old.Inputs = p.Inputs
		return true, true
	}
	return old.Inputs == p.Inputs, false
}

// alive reports whether the recorded PID still runs this binary with these arguments (a reused
// PID, a zombie or another program are not ours).
func (p *process) alive() bool {
	if p.PID <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	// The state is the field after the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	if err != nil {
		return false
	}
	want := strings.Join(append([]string{p.Binary}, p.Args...), "\x00") + "\x00"
	return string(cmdline) == want
}

// find looks for a running process with exactly this command line and adopts it. A hub killed
// between starting a process and recording its PID leaves such an orphan; adopting it (instead of
// starting a second one, which would fail on its ports) keeps one process per component.
func (p *process) find() bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		candidate := process{Binary: p.Binary, Args: p.Args, PID: pid}
		if candidate.alive() {
			p.PID = pid
			return true
		}
	}
	return false
}

// start runs the process detached with its output appended to logDir/<name>.log.
func (p *process) start(logDir string) error {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(logDir, p.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "\n--- easel starting %s at %s\n", p.Name, time.Now().UTC().Format(time.RFC3339))
	cmd := exec.Command(p.Binary, p.Args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	p.PID = cmd.Process.Pid
	// Reap it when it exits while this hub runs; an adopted process is reaped by init.
	go cmd.Wait()
	return nil
}

// stop sends SIGTERM, waits up to grace for the process to go, then kills it.
func (p *process) stop(grace time.Duration) error {
	if !p.alive() && !p.find() {
		p.PID = 0
		return nil
	}
	if err := syscall.Kill(p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s (pid %d): %w", p.Name, p.PID, err)
	}
	deadline := time.Now().Add(grace)
	for p.alive() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if p.alive() {
		syscall.Kill(p.PID, syscall.SIGKILL)
		for i := 0; p.alive() && i < 100; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	p.PID = 0
	return nil
}

func (p *process) String() string { return p.Name + " (pid " + strconv.Itoa(p.PID) + ")" }
