package e2e_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/browser"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// Creating from the console in a real Chromium: a cluster admin fills the new-cluster form (a
// profile made through the API, one control-plane node and one worker), lands on the overview and
// watches the cluster turn Running without a reload; a project admin pastes a profile, sees its
// layers and publishes it. Each page is saved as a screenshot for docs/console.md.
func TestConsoleCreate(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project := defaultProject(t, addr)
	createUser(t, addr, project, "ops@example.com", "cluster-admin")
	createUser(t, addr, project, "platform@example.com", "project-admin")
	profile := createClusterProfile(t, addr, project, "base", "1.0.0",
		`{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"},{"name":"cni-calico","tag":"3.30.3"}`)

	b := browser.New(t)
	signIn(b, addr, "ops@example.com")
	b.Run(chromedp.Navigate("http://"+addr+"/clusters?project="+project),
		chromedp.Click(chromedp.CSS(`a[href^="/clusters/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`fieldset[data-pool="1"]`)),
		chromedp.SendKeys(chromedp.CSS("#name"), "web"),
		chromedp.SetValue(chromedp.CSS("#profile"), profile))
	pools := browser.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("fieldset.pool")].map(p =>
		p.querySelector("legend").textContent + " " + p.querySelector("input[type=number]").value)`))
	if strings.Join(pools, ", ") != "Control-plane pool 1, Worker pool 1" {
		t.Fatalf("the form's pools: %v; want one control-plane node and one worker", pools)
	}
	b.Screenshot("new-cluster")

	// Created, the overview opens and its status part refreshes itself until Running.
	b.Run(chromedp.Click(chromedp.CSS("form.create button.primary")),
		chromedp.WaitVisible(chromedp.CSS("#cluster-status")))
	if loc := browser.Get(b, chromedp.Location()); !regexp.MustCompile(`/clusters/[0-9a-f-]+$`).MatchString(loc) {
		t.Fatalf("creating led to %s; want the new cluster's overview", loc)
	}
	if h1 := browser.Get(b, chromedp.Text(chromedp.CSS("h1"))); !strings.HasPrefix(h1, "web") {
		t.Fatalf("the overview's heading %q; want the new cluster's", h1)
	}
	watchRunning(t, b)

	// A project admin pastes a profile, reads its layers and publishes it.
	b.Run(chromedp.Click(chromedp.CSS("form.logout button")), chromedp.WaitVisible(chromedp.CSS("#email")))
	signIn(b, addr, "platform@example.com")
	b.Run(chromedp.Navigate("http://"+addr+"/profiles?project="+project),
		chromedp.WaitVisible(chromedp.CSS("#profile-text")),
		chromedp.SetValue(chromedp.CSS("#profile-text"), `metadata:
  name: platform
spec:
  version: 1.0.0
  template:
    type: cluster
    cloudType: local
    packs:
    - {name: prometheus-operator, tag: 0.85.0}
    - {name: csi-local-path, tag: 0.0.32}
    - {name: cni-cilium, tag: 1.18.2}
    - {name: kubernetes, tag: 1.34.4}
    - {name: ubuntu, tag: "24.04"}
`),
		chromedp.Click(chromedp.CSS("form.create button.primary")),
		chromedp.WaitVisible(chromedp.CSS("dd[data-published]")))
	layers := browser.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("ol.layers h3")].map(h => h.firstChild.textContent.trim())`))
	if strings.Join(layers, ", ") != "ubuntu, kubernetes, cni-cilium, csi-local-path, prometheus-operator" {
		t.Errorf("the profile's layers %v; want OS, Kubernetes, CNI, CSI, add-ons in that order", layers)
	}
	b.Screenshot("profile")
	b.Run(chromedp.Click(chromedp.CSS(`button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`dd[data-published="true"]`)))
	b.Run(chromedp.Navigate("http://"+addr+"/profiles?project="+project), chromedp.WaitVisible(chromedp.CSS("table.grid")))
	rows := browser.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("tr[data-profile]")].map(r => r.dataset.profile + " " + r.cells[3].textContent)`))
	if strings.Join(rows, ", ") != "base-1.0.0 published, platform-1.0.0 published" {
		t.Errorf("the profiles listed: %v", rows)
	}
	b.Screenshot("profiles")
}

// defaultProject is the uid of the project the first start made.
func defaultProject(t *testing.T, addr string) string {
	t.Helper()
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	api(t, addr, "", "GET", "/v1/dashboard/projects/metadata", "", &projects)
	return projects.Items[0].Metadata.UID
}

// watchRunning waits for the cluster's overview open in b to show Running, and fails the test if
// the page was reloaded to show it (a mark set on the page must survive): its status part
// refreshes alone.
func watchRunning(t *testing.T, b *browser.Browser) {
	t.Helper()
	browser.Get(b, chromedp.Evaluate[bool](`window.easelMark = true`))
	poll.Eventually(t, 3*time.Minute, "the overview to show Running", func() error {
		state := browser.Get(b, chromedp.Evaluate[string](`document.querySelector("[data-state]").dataset.state`))
		return poll.Unless(state == "Running", "state %s", state)
	})
	if !browser.Get(b, chromedp.Evaluate[bool](`window.easelMark === true`)) {
		t.Error("the overview was reloaded to show Running; its status part should refresh alone")
	}
}
