package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/browser"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// createUser makes a user with a password and a role in the project, for the console's login.
func createUser(t *testing.T, addr, project, email, role string) {
	t.Helper()
	body := fmt.Sprintf(`{"spec":{"emailId":%q,"password":"a long password 123","projectRoles":[{"projectUid":%q,"role":%q}]}}`, email, project, role)
	if code := api(t, addr, "", "POST", "/v1/users", body, nil); code != 201 {
		t.Fatalf("creating user %s: %d", email, code)
	}
}

// signIn opens the console and signs in through its form.
func signIn(b *browser.Browser, addr, email string) {
	b.Run(chromedp.Navigate("http://"+addr+"/"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), "a long password 123"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("table.grid")))
}

// The console in a real Chromium: sign in, see the cluster in the grid, open it and watch it turn
// Running without a reload; every request of the pages goes to the hub (the harness checks), and
// each page is saved as a screenshot for docs/console.md.
func TestConsole(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project := defaultProject(t, addr)
	createUser(t, addr, project, "ops@example.com", "cluster-admin")
	profile := createClusterProfile(t, addr, project, "console", "1.0.0",
		`{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"},{"name":"cni-calico","tag":"3.30.3"}`)
	var created struct{ UID string }
	if code := api(t, addr, project, "POST", "/v1/spectroclusters/cloudTypes/local", `{"metadata":{"name":"shop"},
		"spec":{"profiles":[{"uid":"`+profile+`"}],"machinepoolconfig":[{"poolConfig":{"name":"cp","size":1,"isControlPlane":true}},
		{"poolConfig":{"name":"workers","size":2}}]}}`, &created); code != 201 {
		t.Fatalf("creating the cluster: %d", code)
	}

	b := browser.New(t)
	b.Run(chromedp.Navigate("http://" + addr + "/clusters"))
	if loc := browser.Get(b, chromedp.Location()); !strings.Contains(loc, "/login?next=") {
		t.Fatalf("the grid without signing in went to %s; want the login", loc)
	}
	b.Screenshot("login")
	signIn(b, addr, "ops@example.com")
	if name := browser.Text(b, `tr[data-cluster="shop"] th a`); name != "shop" {
		t.Fatalf("the grid's row: %q", name)
	}
	b.Screenshot("clusters")

	// The overview, opened while the cluster provisions: its status part refreshes itself until
	// Running.
	browser.Click(b, `tr[data-cluster="shop"] th a`)
	b.Run(chromedp.WaitVisible(chromedp.CSS("#cluster-status")))
	watchRunning(t, b)

	// Once the agent reports usage, the charts are drawn (uPlot's canvases).
	poll.Eventually(t, 2*time.Minute, "the usage charts to be drawn", func() error {
		b.Run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#cluster-status")))
		drawn := browser.Get(b, chromedp.Poll[string](`document.querySelector("[data-usage]").dataset.drawn`, chromedp.WithPollingTimeout(10*time.Second)))
		canvases := browser.Get(b, chromedp.Evaluate[int](`document.querySelectorAll("[data-usage] canvas").length`))
		return poll.Unless(drawn == "true" && canvases == 2, "drawn %q, %d canvases", drawn, canvases)
	})
	b.Screenshot("overview")
}
