package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// ConsoleConfig is one run of the console benchmark.
type ConsoleConfig struct {
	Easel    string        // the easel binary whose `easel server` is measured
	Clusters int           // clusters stored before measuring
	Duration time.Duration // how long each grid request is measured
	Chromium string        // the browser that times login → drawn overview
	Logins   int           // how many times login → drawn overview is timed
	Progress io.Writer
}

// PageSize is what a console page costs a browser that has nothing cached: its HTML, the
// stylesheets and scripts it loads, and the data its scripts fetch, uncompressed.
type PageSize struct {
	Page               string
	HTML, Assets, Data int
}

// Total is the page's bytes in all.
func (p PageSize) Total() int { return p.HTML + p.Assets + p.Data }

// ConsoleResult is what the console benchmark measured.
type ConsoleResult struct {
	Grid  []Result   // GET /clusters, one client at a time
	Pages []PageSize // each page's transfer
	// LoginToDrawn is each timed run from submitting the login form to the overview's charts
	// drawn, in a fresh browser profile.
	LoginToDrawn []time.Duration
}

// consolePassword is the password of the user the benchmark signs in as.
const consolePassword = "a long bench password 123"

// RunConsole starts a hub on loopback, imports cfg.Clusters clusters through the API, gives the
// first one an agent's node and usage reports (so its overview has nodes and charts), then
// measures the grid's response time, each page's size with its assets, and the time from login to
// a drawn overview in Chromium.
func RunConsole(ctx context.Context, cfg ConsoleConfig) (ConsoleResult, error) {
	var res ConsoleResult
	h, err := startHub(ctx, hubOptions{easel: cfg.Easel, concurrency: 1, progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	defer h.stop()
	c := h.c
	uids, err := seed(ctx, c, cfg.Clusters, 8, cfg.Progress)
	if err != nil {
		return res, err
	}
	if err := reportAsAgent(ctx, c, uids[0]); err != nil {
		return res, err
	}
	session, err := consoleSession(ctx, c)
	if err != nil {
		return res, err
	}
	get := func(path string) ([]byte, error) { return session(ctx, path) }

	grid := []struct{ name, path string }{
		{"GET /clusters (first page of 25, by name)", "/clusters?project=" + c.project},
		{"GET /clusters (page 20)", "/clusters?project=" + c.project + "&page=20"},
		{"GET /clusters (name filter)", "/clusters?project=" + c.project + "&name=bench-0042"},
		{"GET /clusters (all projects)", "/clusters"},
	}
	for _, g := range grid {
		fmt.Fprintf(cfg.Progress, "Measuring %s for %s\n", g.name, cfg.Duration)
		res.Grid = append(res.Grid, measure(g.name, cfg.Duration, 1, func(int) error { _, err := get(g.path); return err }))
	}

	for _, page := range []struct{ name, path string }{
		{"/login", "/login"}, {"/clusters", "/clusters?project=" + c.project},
		{"/clusters/{uid} (100 nodes)", "/clusters/" + uids[0] + "?project=" + c.project},
		{"/clusters/{uid}/nodes (100 nodes)", "/clusters/" + uids[0] + "/nodes?project=" + c.project},
		{"/clusters/{uid}/settings", "/clusters/" + uids[0] + "/settings?project=" + c.project},
		{"/clusters/new", "/clusters/new?project=" + c.project}, {"/profiles", "/profiles?project=" + c.project},
		{"/audit", "/audit"}, {"/apikeys", "/apikeys"},
	} {
		size, err := pageSize(page.path, get)
		if err != nil {
			return res, err
		}
		size.Page = page.name
		res.Pages = append(res.Pages, size)
	}

	for i := range cfg.Logins {
		fmt.Fprintf(cfg.Progress, "Timing login → drawn overview (%d of %d)\n", i+1, cfg.Logins)
		d, err := loginToDrawn(ctx, cfg.Chromium, c.base, uids[0])
		if err != nil {
			return res, err
		}
		res.LoginToDrawn = append(res.LoginToDrawn, d)
	}
	return res, nil
}

// consoleSession creates the bench's user through the API (bench@example.com, cluster admin of the
// client's project), signs in as them and returns a GET of console pages with their session
// cookie, as a browser sends it.
func consoleSession(ctx context.Context, c *apiClient) (func(ctx context.Context, path string) ([]byte, error), error) {
	token, err := signInBenchUser(ctx, c)
	if err != nil {
		return nil, err
	}
	return consolePages(c, token), nil
}

// signInBenchUser creates the bench's user and signs in as them: their session token.
func signInBenchUser(ctx context.Context, c *apiClient) (string, error) {
	user := fmt.Sprintf(`{"spec":{"emailId":"bench@example.com","password":%q,"projectRoles":[{"projectUid":%q,"role":"cluster-admin"}]}}`,
		consolePassword, c.project)
	if err := c.call(ctx, "POST", "/v1/users", []byte(user), nil); err != nil {
		return "", fmt.Errorf("creating the bench's user: %w", err)
	}
	var token struct{ Authorization string }
	login := fmt.Sprintf(`{"emailId":"bench@example.com","password":%q}`, consolePassword)
	if err := c.call(ctx, "POST", "/v1/auth/authenticate", []byte(login), &token); err != nil {
		return "", fmt.Errorf("signing in: %w", err)
	}
	return token.Authorization, nil
}

// consolePages is a GET of console pages through c with the session token's cookie.
func consolePages(c *apiClient, token string) func(ctx context.Context, path string) ([]byte, error) {
	return func(ctx context.Context, path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
		if err != nil {
			return nil, err
		}
		req.AddCookie(&http.Cookie{Name: "easel_session", Value: token})
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return b, err
	}
}

var (
	assetRef = regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)
	dataRef  = regexp.MustCompile(`data-usage="([^"]+)"`)
)

// pageSize fetches a page, then each asset it loads and the data its script fetches, once.
func pageSize(path string, get func(string) ([]byte, error)) (PageSize, error) {
	var size PageSize
	html, err := get(path)
	if err != nil {
		return size, err
	}
	size.HTML = len(html)
	seen := map[string]bool{}
	for _, m := range assetRef.FindAllSubmatch(html, -1) {
		ref := string(m[1])
		if seen[ref] {
			continue
		}
		seen[ref] = true
		b, err := get(ref)
		if err != nil {
			return size, err
		}
		size.Assets += len(b)
	}
	for _, m := range dataRef.FindAllSubmatch(html, -1) {
		b, err := get(strings.ReplaceAll(string(m[1]), "&amp;", "&"))
		if err != nil {
			return size, err
		}
		size.Data += len(b)
	}
	return size, nil
}

// reportAsAgent sends what the agent of an imported cluster sends first: a heartbeat, its nodes
// and a usage sample.
func reportAsAgent(ctx context.Context, c *apiClient, uid string) error {
	token, err := agentToken(ctx, c, uid)
	if err != nil {
		return err
	}
	nodes, _ := nodeReports(100)
	usage, _ := usageReports(100)
	for _, r := range []struct {
		path string
		body []byte
	}{{"/heartbeat", []byte(`{"agentVersion":"bench"}`)}, {"/agent/nodes", nodes()}, {"/agent/usage", usage()}} {
		if err := c.agentPut(ctx, uid, token, r.path, r.body); err != nil {
			return err
		}
	}
	return nil
}

// loginToDrawn opens the login page in a fresh headless Chromium, then times from submitting the
// form to the cluster's overview with its charts drawn: the grid, a click on the cluster, the
// overview, its scripts and its usage data.
func loginToDrawn(ctx context.Context, chromium, base, uid string) (time.Duration, error) {
	if chromium == "" {
		var err error
		if chromium, err = exec.LookPath("chromium"); err != nil {
			return 0, errors.New("no Chromium: pass --chromium or put chromium on the PATH (hack/chromium.sh installs it)")
		}
	}
	profile, err := os.MkdirTemp("", "easel-bench-chromium-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(profile)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true), chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	bctx, cancelTimeout := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelTimeout()
	_, err = chromedp.Run(bctx, chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "bench@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), consolePassword)))
	if err != nil {
		return 0, fmt.Errorf("opening the login page in %s: %w", chromium, err)
	}
	start := time.Now()
	_, err = chromedp.Run(bctx, chromedp.Steps(
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/clusters/`+uid+`"]`)),
		chromedp.Click(chromedp.CSS(`a[href^="/clusters/`+uid+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-usage][data-drawn]"))))
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("login → overview in Chromium: %w", err)
	}
	drawn, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("[data-usage]").dataset.drawn`))
	if err != nil {
		return 0, err
	}
	if drawn != "true" {
		return 0, fmt.Errorf("the overview's charts: %q, want drawn", drawn)
	}
	return took, nil
}
