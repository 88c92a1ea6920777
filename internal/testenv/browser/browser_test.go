package browser

import (
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// serve starts a server on 127.0.0.1 with the given files, by path.
func serve(t *testing.T, files map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch filepath.Ext(r.URL.Path) {
		case ".js":
			w.Header().Set("Content-Type", "text/javascript")
		case ".svg":
			w.Header().Set("Content-Type", "image/svg+xml")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// waitForRequest waits until the page has requested the URL: a request the page makes after
// its load event, which Navigate does not wait for.
func waitForRequest(t *testing.T, b *Browser, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !slices.Contains(b.Requests(), url) {
		if time.Now().After(deadline) {
			t.Fatalf("the page never requested %s; requests: %q", url, b.Requests())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// errorRecorder stands in for the test given to New, so that the harness's verdict at the end
// of the test is checked here instead of failing this test.
type errorRecorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestForeignRequestsFailTheTest(t *testing.T) {
	// The image and the worker's fetch go to TEST-NET addresses that never answer; both start
	// after the load event so that Navigate does not wait for them.
	srv := serve(t, map[string]string{
		"/": `<!doctype html><title>foreign</title><p>page</p><script src="/page.js"></script>`,
		"/page.js": `window.addEventListener("load", () => {
			const img = document.createElement("img");
			img.src = "http://192.0.2.1/x.png";
			document.body.append(img);
			new Worker("/worker.js");
		});`,
		"/worker.js": `fetch("http://192.0.2.2/worker.json").catch(() => {});`,
	})
	rec := &errorRecorder{TB: t}
	// Cleanups run last-registered first, so this one runs after the harness's own check.
	t.Cleanup(func() {
		if len(rec.errors) != 1 {
			t.Fatalf("the harness reported %d errors at the end of the test, want 1: %q", len(rec.errors), rec.errors)
		}
		got := rec.errors[0]
		for _, want := range []string{"http://192.0.2.1/x.png", "http://192.0.2.2/worker.json"} {
			if !strings.Contains(got, want) {
				t.Errorf("the harness's error does not list %s:\n%s", want, got)
			}
		}
		if strings.Contains(got, srv.URL) {
			t.Errorf("the harness's error lists a request to the test's own server %s:\n%s", srv.URL, got)
		}
	})

	b := New(rec)
	b.Run(chromedp.Navigate(srv.URL + "/"))
	waitForRequest(t, b, "http://192.0.2.1/x.png")
	waitForRequest(t, b, "http://192.0.2.2/worker.json")
	for _, want := range []string{srv.URL + "/", srv.URL + "/page.js", srv.URL + "/worker.js"} {
		if !slices.Contains(b.Requests(), want) {
			t.Errorf("Requests() lacks %s: %q", want, b.Requests())
		}
	}
}

func TestCleanPagePassesAndScreenshots(t *testing.T) {
	artifacts := filepath.Join(t.TempDir(), "console")
	t.Setenv("EASEL_ARTIFACTS", artifacts)
	// Taller than the 900-pixel window, to show the screenshot is of the whole page.
	srv := serve(t, map[string]string{
		"/": `<!doctype html><title>clean</title>
			<div style="height: 2000px">page</div><img src="/dot.svg"><script src="/page.js"></script>`,
		"/page.js": `document.title = "clean, scripted";`,
		"/dot.svg": `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle cx="4" cy="4" r="4"/></svg>`,
	})

	b := New(t)
	b.Run(chromedp.Navigate(srv.URL + "/"))
	if got := Get(b, chromedp.Title()); got != "clean, scripted" {
		t.Errorf("title %q, want the one page.js sets", got)
	}
	for _, want := range []string{srv.URL + "/", srv.URL + "/page.js", srv.URL + "/dot.svg"} {
		if !slices.Contains(b.Requests(), want) {
			t.Errorf("Requests() lacks %s: %q", want, b.Requests())
		}
	}

	path := b.Screenshot("clean")
	if want := filepath.Join(artifacts, "clean.png"); path != want {
		t.Errorf("screenshot written to %s, want %s", path, want)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	if size := img.Bounds().Size(); size.X != 1280 || size.Y < 2000 {
		t.Errorf("screenshot is %dx%d, want 1280 wide and the page's full height (over 2000)", size.X, size.Y)
	}
}

func TestForeignRequests(t *testing.T) {
	urls := []string{
		"http://127.0.0.1:8080/clusters",
		"ws://127.0.0.1:8080/socket",
		"data:image/png;base64,AAAA",
		"blob:http://127.0.0.1:8080/0b7c",
		"about:blank",
		"http://localhost:8080/",
		"http://[::1]:8080/",
		"https://cdn.example.com/htmx.min.js",
		"http://127.0.0.1.example.com/",
	}
	got := foreignRequests(urls)
	want := []string{
		"http://localhost:8080/",
		"http://[::1]:8080/",
		"https://cdn.example.com/htmx.min.js",
		"http://127.0.0.1.example.com/",
	}
	if !slices.Equal(got, want) {
		t.Errorf("foreignRequests(%q) = %q, want %q", urls, got, want)
	}
}
