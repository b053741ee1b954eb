package console_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromium finds Debian's chromium; scripts/test installs it when it is missing.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: apt-get install chromium (scripts/test does it)")
	return ""
}

// tab is a real headless Chromium with a fresh profile, and the folder its downloads go to.
type tab struct {
	ctx       context.Context
	downloads string
	dialogs   chan string
}

func newBrowser(t *testing.T) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // tests run as root
		chromedp.Headless,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &tab{ctx: ctx, downloads: t.TempDir(), dialogs: make(chan string, 16)}
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			select {
			case b.dialogs <- d.Message:
			default:
			}
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.downloads,
	}); err != nil {
		t.Fatalf("downloads: %v", err)
	}
	return b
}

func (b *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// open navigates and waits for the page's main element.
func (b *tab) open(t *testing.T, url string) {
	t.Helper()
	b.do(t, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("main")))
}

// submit clicks a form's button and waits for the page it leads to.
func (b *tab) submit(t *testing.T, button string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	loaded := chromedp.Events(ctx, page.LoadEventFired)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(button))); err != nil {
		t.Fatalf("click %s: %v", button, err)
	}
	for _, err := range loaded {
		if err != nil {
			t.Fatalf("after clicking %s: %v", button, err)
		}
		break
	}
	b.do(t, chromedp.WaitReady(chromedp.CSS("body")))
}

func (b *tab) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *tab) eval(t *testing.T, js string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *tab) location(t *testing.T) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// artifacts is where screenshots go: $TOLLGATE_ARTIFACTS, or a folder kept after the test.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOLLGATE_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "tollgate-console-"); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(dir, "console", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shot saves a full-page PNG of the current page and checks that it shows something:
// many colours, and a good share of pixels that are not the background.
func (b *tab) shot(t *testing.T, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	colours, inked, total := blankness(img)
	if colours < 16 || inked*50 < total {
		t.Errorf("screenshot %s looks blank: %d colours, %d of %d pixels off the background", path, colours, inked, total)
	}
	t.Logf("screenshot %s: %d colours", path, colours)
}

func blankness(img image.Image) (colours, inked, total int) {
	seen := map[uint32]bool{}
	bg := img.At(img.Bounds().Min.X, img.Bounds().Min.Y)
	br, bgc, bb, _ := bg.RGBA()
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			seen[(r>>11)<<10|(g>>11)<<5|b>>11] = true
			total++
			if r != br || g != bgc || b != bb {
				inked++
			}
		}
	}
	return len(seen), inked, total
}

// waitDownload waits for a finished file matching pattern in the downloads folder.
func (b *tab) waitDownload(t *testing.T, pattern string) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ms, _ := filepath.Glob(filepath.Join(b.downloads, pattern))
		for _, m := range ms {
			if !strings.HasSuffix(m, ".crdownload") {
				data, err := os.ReadFile(m)
				if err == nil && len(data) > 0 {
					return data
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries, _ := os.ReadDir(b.downloads)
	t.Fatalf("no download matching %s in %s (has %v)", pattern, b.downloads, entries)
	return nil
}

func parseCSV(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("CSV %q: %v", data, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

func setValue(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), v)
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// get navigates to url and returns the HTTP status of the page.
func (b *tab) get(t *testing.T, url string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
	return resp.Status
}

// post builds a form in the current page, as someone with the browser's developer
// tools could, submits it, and returns the heading of the page it leads to. The CSP
// forbids the page's own scripts; the developer tools are not bound by it.
func (b *tab) post(t *testing.T, action, body string) string {
	t.Helper()
	js := `(() => { const f = document.createElement("form"); f.method = "post"; f.action = ` + strconv.Quote(action) + `;
		for (const [k, v] of new URLSearchParams(` + strconv.Quote(body) + `)) { const i = document.createElement("input"); i.name = k; i.value = v; f.appendChild(i); }
		const s = document.createElement("button"); s.id = "forged"; f.appendChild(s); document.body.appendChild(f); return ""; })()`
	b.eval(t, js)
	b.submit(t, "#forged")
	return b.text(t, "h1")
}
