// Package browser drives a real headless Chromium for the console's tests (design 006, Tests).
//
// A test starts one browser and drives it with chromedp actions:
//
//	b := browser.New(t)
//	b.Run(chromedp.Navigate(srv.URL+"/clusters"), chromedp.WaitVisible(chromedp.CSS("table")))
//	state := browser.Get(b, chromedp.Text(chromedp.CSS("#state")))
//	b.Screenshot("clusters")
//
// The browser is Chromium from $EASEL_CHROMIUM, or `chromium` on the PATH; hack/test.sh
// installs it (hack/chromium.sh) and sets the variable, and a test without one fails rather
// than skips. It runs headless, without the sandbox (the tests run as root), in a fresh
// profile under the test's temporary directory, and closes when the test ends.
//
// The console promises that no request leaves the hub (no CDN, no web font), so the harness
// records the URL of every request the page makes, from the DevTools network events
// (Network.requestWillBeSent) of the tab, of every frame in it and of every dedicated worker it
// starts, and when the test ends fails it with the list of those that went to a host other
// than 127.0.0.1. Site isolation is off so that a frame of another site stays in the tab's
// process, where its requests are seen. Not followed: a service worker, and a window the page
// opens (the console has neither; a test that adds one checks it itself).
//
// Screenshots go to $EASEL_ARTIFACTS, or test/artifacts/console/ under the repository root
// (ignored by git); docs/console.md shows them.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// actionTimeout bounds one Run or Get, so a page that never shows what a test waits for
// fails that test with the action's error instead of hanging until go test's timeout. It is
// generous because the hub behind the page may be slow on a busy machine.
const actionTimeout = 2 * time.Minute

// Browser is one headless Chromium with one tab, owned by one test.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	requests []string
}

// New starts a browser for the test; it closes when the test ends, and then the test fails if
// the page sent any request to a host other than 127.0.0.1.
func New(t testing.TB) *Browser {
	t.Helper()
	exe := os.Getenv("EASEL_CHROMIUM")
	if exe == "" {
		var err error
		if exe, err = exec.LookPath("chromium"); err != nil {
			t.Fatalf("no Chromium: EASEL_CHROMIUM is unset and there is no chromium on the PATH; " +
				"run hack/chromium.sh (hack/test.sh does) and set EASEL_CHROMIUM to the path it prints")
		}
	}
	// Registered before the browser's cleanup so that it runs after it: the directory is
	// removed once the browser that writes to it has exited.
	profile := t.TempDir()

	var output bytes.Buffer
	flatten := true
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,IsolateOrigins,site-per-process"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx}

	// Listen starts the browser and opens the tab. A dedicated worker is a target of its own,
	// whose requests the tab's events do not include: Chrome is told to hold each new one
	// paused until follow has attached to it. (chromedp's attach cannot start on a paused
	// service worker or frame, so those are left to chromedp's own setting; frames of other
	// sites stay in the tab, see above.)
	err := chromedp.Listen(ctx, b.record)
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			_, err := cdp.Call(ctx, tab, target.SetAutoAttach, target.SetAutoAttachParams{
				AutoAttach:             true,
				WaitForDebuggerOnStart: true,
				Flatten:                &flatten,
				Filter:                 target.Filter{{Type: "worker"}},
			})
			return err
		}))
	}
	if err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting Chromium %s: %v\n%s", exe, err, output.String())
	}
	t.Cleanup(func() {
		// Closing first means every event of the page has been delivered before the check.
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("closing Chromium: %v", err)
		}
		cancel()
		cancelAlloc()
		if foreign := foreignRequests(b.Requests()); len(foreign) > 0 {
			t.Errorf("the page sent %d request(s) to a host other than 127.0.0.1 (the console must load nothing from elsewhere):\n  %s",
				len(foreign), strings.Join(foreign, "\n  "))
		}
	})
	return b
}

// record is the tab's and every followed worker's listener: it runs on chromedp's reading
// goroutines, so it only appends under the lock and hands attaching off to a goroutine.
func (b *Browser) record(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.mu.Lock()
		b.requests = append(b.requests, ev.Request.URL)
		b.mu.Unlock()
	case *target.EventAttachedToTarget:
		go b.follow(ev.TargetInfo.TargetID)
	}
}

// follow attaches to a worker that Chrome holds paused at its start (see New), enables its
// network events, and lets it run, so not even its first request goes unseen. The context ends
// with the browser's. An error means the worker is already gone, with nothing left to record.
func (b *Browser) follow(id target.ID) {
	ctx, _ := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	if err := chromedp.Listen(ctx, b.record); err != nil {
		return
	}
	_ = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, worker *chromedp.Target) error {
		_, err := cdp.Call(ctx, worker, runtime.RunIfWaitingForDebugger, cdp.Empty{})
		return err
	}))
}

// Run runs the actions in the browser's tab, in order, and fails the test on the first error.
func (b *Browser) Run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	Get(b, chromedp.Steps(actions...))
}

// Get runs one action that returns a value, such as chromedp.Text or chromedp.Evaluate, and
// returns that value; it fails the test on an error. (A method cannot have a type parameter.)
func Get[T any](b *Browser, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// Text is the visible text of the first element the CSS selector matches ("" when none does),
// found and read in one step of the page. chromedp.Text finds the element, then reads it: an
// element that a part of the page refreshing itself (htmx) replaces in between fails it with "No
// node with given id found".
func Text(b *Browser, selector string) string {
	b.t.Helper()
	quoted, _ := json.Marshal(selector) // a string: it cannot fail
	return Get(b, chromedp.Evaluate[string](fmt.Sprintf(`(el => el ? el.innerText.trim() : "")(document.querySelector(%s))`, quoted)))
}

// Click clicks the first element the CSS selector matches, found and clicked in one step of the
// page, once there is one that htmx has taken in: content htmx swaps in sits inside an element of
// class htmx-settling until htmx has bound its requests (20 ms later), and a click before that is
// the browser's own (for a form or a link with hx- attributes, a page load). chromedp.Click finds
// the element, then clicks where it was: an element a refreshing part replaced in between is
// missed. It fails the test when there is nothing to click within 30 s.
func Click(b *Browser, selector string) {
	b.t.Helper()
	quoted, _ := json.Marshal(selector) // a string: it cannot fail
	script := fmt.Sprintf(`(el => !!el && !el.closest(".htmx-settling") && (el.click(), true))(document.querySelector(%s))`, quoted)
	for deadline := time.Now().Add(30 * time.Second); !Get(b, chromedp.Evaluate[bool](script)); {
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: nothing to click at %s within 30s", selector)
		}
		time.Sleep(50 * time.Millisecond) // the page's next frame
	}
}

// Screenshot saves a PNG of the whole page (beyond the window's height) as <name>.png in the
// artifacts directory, and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	if name == "" || strings.ContainsAny(name, `/\`) {
		b.t.Fatalf("screenshot name %q: want a file name without a directory", name)
	}
	dir, err := artifactsDir()
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	png := Get(b, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	return path
}

// Requests returns the URL of every request the page has sent so far, in order.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// foreignRequests returns the URLs that name a host other than 127.0.0.1. URLs without a host
// (data:, blob:, about:) never leave the browser.
func foreignRequests(urls []string) []string {
	var foreign []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			foreign = append(foreign, raw)
			continue
		}
		if u.Host != "" && u.Hostname() != "127.0.0.1" {
			foreign = append(foreign, raw)
		}
	}
	return foreign
}

// artifactsDir is $EASEL_ARTIFACTS, or test/artifacts/console under the repository root (the
// nearest directory above the working directory with a go.mod; go test runs in the package's
// directory).
func artifactsDir() (string, error) {
	if dir := os.Getenv("EASEL_ARTIFACTS"); dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "test", "artifacts", "console"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s: set EASEL_ARTIFACTS", wd)
		}
	}
}
