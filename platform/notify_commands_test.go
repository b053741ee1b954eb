package platform

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// notifyTexts are the awkward strings every builder must carry through intact.
var notifyTexts = []struct{ name, in string }{
	{"plain", "Revit denied"},
	{"double quotes", `say "hi"`},
	{"single quote", "user's balance"},
	{"backslashes", `C:\Program Files\ and \" and \\`},
	{"newlines and tab", "line1\nline2\r\nline3\tend"},
	{"unicode", "Überweisung — 残高 😀 ‘smart’ ‚low‛"},
	{"markup", "a & b <b>bold</b> > c"},
	{"leading dash", "--help"},
	{"NUL", "a\x00b"},
	{"empty", ""},
}

func TestNotifySendCommand(t *testing.T) {
	tests := []struct {
		name     string
		n        Notice
		wantArgs []string
	}{
		{
			name:     "normal",
			n:        Notice{Title: "Revit denied", Body: "Balance too low"},
			wantArgs: []string{"--app-name=tollgate", "--urgency=normal", "--", "Revit denied", "Balance too low"},
		},
		{
			name:     "urgent",
			n:        Notice{Title: "t", Body: "b", Urgent: true},
			wantArgs: []string{"--app-name=tollgate", "--urgency=critical", "--", "t", "b"},
		},
		{
			name: "title is plain text, body is escaped markup",
			n:    Notice{Title: `-a & "b" <c> 'd' \e`, Body: `x & "y" <z> 'w' \v` + "\nnext ✓"},
			wantArgs: []string{"--app-name=tollgate", "--urgency=normal", "--",
				`-a & "b" <c> 'd' \e`, `x &amp; "y" &lt;z&gt; 'w' \v` + "\nnext ✓"},
		},
		{
			name:     "NUL dropped",
			n:        Notice{Title: "a\x00b", Body: "c\x00d"},
			wantArgs: []string{"--app-name=tollgate", "--urgency=normal", "--", "ab", "cd"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, args := notifySendCommand(tt.n)
			if name != "notify-send" || !slices.Equal(args, tt.wantArgs) {
				t.Errorf("notifySendCommand(%+v): got %q %q, want %q %q", tt.n, name, args, "notify-send", tt.wantArgs)
			}
		})
	}
}

func TestAppleScriptString(t *testing.T) {
	want := map[string]string{
		"plain":            `"Revit denied"`,
		"double quotes":    `"say \"hi\""`,
		"single quote":     `"user's balance"`,
		"backslashes":      `"C:\\Program Files\\ and \\\" and \\\\"`,
		"newlines and tab": `"line1\nline2\r\nline3\tend"`,
		"unicode":          `"Überweisung — 残高 😀 ‘smart’ ‚low‛"`,
		"markup":           `"a & b <b>bold</b> > c"`,
		"leading dash":     `"--help"`,
		"NUL":              `"ab"`,
		"empty":            `""`,
	}
	for _, tt := range notifyTexts {
		t.Run(tt.name, func(t *testing.T) {
			if got := appleScriptString(tt.in); got != want[tt.name] {
				t.Errorf("appleScriptString(%q): got %s, want %s", tt.in, got, want[tt.name])
			}
		})
	}
}

func TestOsascriptCommand(t *testing.T) {
	tests := []struct {
		name string
		n    Notice
		want []string
	}{
		{
			name: "normal",
			n:    Notice{Title: `Revit "2025"`, Body: `Ask C:\IT`},
			want: []string{"-e", `display notification "Ask C:\\IT" with title "Revit \"2025\""`},
		},
		{
			name: "urgent sounds",
			n:    Notice{Title: "t", Body: "line1\nline2", Urgent: true},
			want: []string{"-e", `display notification "line1\nline2" with title "t" sound name "Basso"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, args := osascriptCommand(tt.n)
			if name != "osascript" || !slices.Equal(args, tt.want) {
				t.Errorf("osascriptCommand(%+v): got %q %q, want %q %q", tt.n, name, args, "osascript", tt.want)
			}
		})
	}
}

func TestPowershellString(t *testing.T) {
	want := map[string]string{
		"plain":            `'Revit denied'`,
		"double quotes":    `'say "hi"'`,
		"single quote":     `'user''s balance'`,
		"backslashes":      `'C:\Program Files\ and \" and \\'`,
		"newlines and tab": "'line1\nline2\r\nline3\tend'",
		"unicode":          `'Überweisung — 残高 😀 ‘‘smart’’ ‚‚low‛‛'`,
		"markup":           `'a & b <b>bold</b> > c'`,
		"leading dash":     `'--help'`,
		"NUL":              "'a\x00b'",
		"empty":            `''`,
	}
	for _, tt := range notifyTexts {
		t.Run(tt.name, func(t *testing.T) {
			if got := powershellString(tt.in); got != want[tt.name] {
				t.Errorf("powershellString(%q): got %s, want %s", tt.in, got, want[tt.name])
			}
		})
	}
}

func TestXMLText(t *testing.T) {
	want := map[string]string{
		"plain":            `Revit denied`,
		"double quotes":    `say &#34;hi&#34;`,
		"single quote":     `user&#39;s balance`,
		"backslashes":      `C:\Program Files\ and \&#34; and \\`,
		"newlines and tab": `line1&#xA;line2&#xD;&#xA;line3&#x9;end`,
		"unicode":          `Überweisung — 残高 😀 ‘smart’ ‚low‛`,
		"markup":           `a &amp; b &lt;b&gt;bold&lt;/b&gt; &gt; c`,
		"leading dash":     `--help`,
		"NUL":              "a\uFFFDb",
		"empty":            ``,
	}
	for _, tt := range notifyTexts {
		t.Run(tt.name, func(t *testing.T) {
			if got := xmlText(tt.in); got != want[tt.name] {
				t.Errorf("xmlText(%q): got %s, want %s", tt.in, got, want[tt.name])
			}
		})
	}
}

// decodePowershell undoes powershellEncode.
func decodePowershell(t *testing.T, enc string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(b)%2 != 0 {
		t.Fatalf("-EncodedCommand %q: %v (%d bytes)", enc, err, len(b))
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(units))
}

func TestPowershellEncode(t *testing.T) {
	tests := []struct{ script, want string }{
		// The example in PowerShell's own help for -EncodedCommand.
		{`dir "c:\program files" `, "ZABpAHIAIAAiAGMAOgBcAHAAcgBvAGcAcgBhAG0AIABmAGkAbABlAHMAIgAgAA=="},
		// A character outside the BMP becomes a surrogate pair.
		{"é😀\n", "6QA92ADeCgA="},
	}
	for _, tt := range tests {
		if got := powershellEncode(tt.script); got != tt.want {
			t.Errorf("powershellEncode(%q): got %s, want %s", tt.script, got, tt.want)
		}
	}
}

func TestPowershellToastCommand(t *testing.T) {
	tests := []struct {
		name string
		n    Notice
		// wantLoad is the script's LoadXml line.
		wantLoad string
	}{
		{
			name:     "normal",
			n:        Notice{Title: "Revit denied", Body: "Balance too low"},
			wantLoad: `$xml.LoadXml('<toast duration="short"><visual><binding template="ToastGeneric"><text>Revit denied</text><text>Balance too low</text></binding></visual></toast>')`,
		},
		{
			name:     "urgent stays longer",
			n:        Notice{Title: "t", Body: "b", Urgent: true},
			wantLoad: `$xml.LoadXml('<toast duration="long"><visual><binding template="ToastGeneric"><text>t</text><text>b</text></binding></visual></toast>')`,
		},
		{
			name: "quotes, markup and smart quotes cannot leave the string",
			n:    Notice{Title: `it's "x" & <y>`, Body: "‘'); Remove-Item C:\\ #’\nok"},
			wantLoad: `$xml.LoadXml('<toast duration="short"><visual><binding template="ToastGeneric"><text>it&#39;s &#34;x&#34; &amp; &lt;y&gt;</text>` +
				`<text>‘‘&#39;); Remove-Item C:\ #’’&#xA;ok</text></binding></visual></toast>')`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, args := powershellToastCommand(tt.n)
			if name != "powershell.exe" || len(args) != 4 || !slices.Equal(args[:3], []string{"-NoProfile", "-NonInteractive", "-EncodedCommand"}) {
				t.Fatalf("powershellToastCommand(%+v): got %q %q, want powershell.exe -NoProfile -NonInteractive -EncodedCommand <script>", tt.n, name, args)
			}
			script := decodePowershell(t, args[3])
			if script != toastScript(tt.n) {
				t.Errorf("encoded script: got %q, want toastScript's %q", script, toastScript(tt.n))
			}
			lines := strings.Split(script, "\n")
			if !slices.Contains(lines, tt.wantLoad) {
				t.Errorf("script for %+v: got\n%s\nwant a line\n%s", tt.n, script, tt.wantLoad)
			}
		})
	}
}
