// Package pgtest gives tests a fresh, empty PostgreSQL database each.
//
// Packages whose tests call DSN must stop the server pgtest may start, from
// TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// The admin server is the one named by the EASEL_TEST_POSTGRES environment
// variable (an admin DSN; hack/test.sh sets it to a shared server). Without it,
// pgtest starts a private server once per test process with
// hack/postgres.sh start, and Main stops it. Should the process die before Main
// gets to (a panic, a test timeout, a signal), a detached watchdog stops the
// server shortly after the process is gone.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/easelhq/easel/internal/testenv"
)

// EnvVar names the environment variable holding the admin DSN of an existing
// server. When it is set, pgtest starts no server of its own.
const EnvVar = "EASEL_TEST_POSTGRES"

var (
	once     sync.Once
	adminDSN string
	startErr error

	// Set when this process started its own server.
	script   string    // path to hack/postgres.sh
	dataDir  string    // the server's directory
	watchdog *exec.Cmd // stops the server if the process dies without Main
)

// Main runs the tests, stops the server this process started (if any) and
// exits with the tests' exit code. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := stopServer(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// DSN creates a new, empty database (easel_test_<random>) for the calling
// test, drops it when the test and its subtests finish, and returns a DSN for
// it. It fails the test (never skips it) when no PostgreSQL is available.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(func() { adminDSN, startErr = admin() })
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := "easel_test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()

	if err := adminExec("CREATE DATABASE " + ident + " TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := adminExec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})

	dsn, err := withDatabase(adminDSN, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// adminExec runs one statement on the admin server.
func adminExec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns dsn (URL or keyword/value form) pointing at database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parsing admin DSN: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // later keywords override earlier ones
}

// admin returns the admin DSN, starting a private server if EnvVar is unset.
func admin() (string, error) {
	if dsn := os.Getenv(EnvVar); dsn != "" {
		return dsn, nil
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	// Not t.TempDir: the server runs as the postgres OS user when tests run as
	// root, and that user must be able to reach the directory.
	dir, err := os.MkdirTemp("", "easel-pgtest-")
	if err != nil {
		return "", err
	}
	script = filepath.Join(root, "hack", "postgres.sh")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "start", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		_ = exec.Command("bash", script, "stop", dir).Run()
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("starting PostgreSQL with %s failed: %v\n%s\n"+
			"If PostgreSQL is not installed, run hack/postgres.sh install (as root), "+
			"or set %s to an admin DSN of a running server.",
			script, err, strings.TrimSpace(stderr.String()), EnvVar)
	}
	dataDir = dir

	// The watchdog lives in its own session so that ^C reaches only the tests,
	// and holds none of our stdio so that go test does not wait for it.
	watchdog = exec.Command("bash", "-c",
		`while kill -0 "$1" 2>/dev/null; do sleep 1; done; bash "$2" stop "$3"; rm -rf "$3"`,
		"pgtest-watchdog", strconv.Itoa(os.Getpid()), script, dir)
	watchdog.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := watchdog.Start(); err != nil {
		watchdog = nil
		fmt.Fprintf(os.Stderr, "pgtest: starting watchdog: %v (call pgtest.Main from TestMain)\n", err)
	}

	return strings.TrimSpace(stdout.String()), nil
}

// stopServer stops and removes the server this process started, if any.
func stopServer() error {
	if dataDir == "" {
		return nil
	}
	if watchdog != nil {
		_ = watchdog.Process.Kill()
		_ = watchdog.Wait()
	}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", script, "stop", dataDir)
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("stopping PostgreSQL in %s: %v\n%s", dataDir, err, strings.TrimSpace(stderr.String()))
	}
	return errors.Join(err, os.RemoveAll(dataDir))
}

// EachStore runs fn as two subtests, "sqlite" and "postgres", each with the URL of a fresh store:
// a SQLite file in the subtest's temporary directory, and a new PostgreSQL database (DSN).
func EachStore(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			url := filepath.Join(t.TempDir(), "easel.db")
			if name == "postgres" {
				url = DSN(t)
			}
			fn(t, url)
		})
	}
}
