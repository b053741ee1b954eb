package platform

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"strings"
	"unicode/utf16"
)

// The command builders for every OS live here, built everywhere, so that their escaping is
// tested on any machine; notifyCommand in each OS's notify file picks one.

// notifySendCommand shows n through the freedesktop notification service. The arguments go to
// notify-send without a shell; "--" keeps a title that starts with "-" from reading as a flag.
// The body, unlike the title, is markup in the notification spec, so it is escaped as such.
func notifySendCommand(n Notice) (string, []string) {
	urgency := "--urgency=normal"
	if n.Urgent {
		urgency = "--urgency=critical"
	}
	markup := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return "notify-send", []string{
		"--app-name=tollgate",
		urgency,
		"--",
		withoutNUL(n.Title),
		markup.Replace(withoutNUL(n.Body)),
	}
}

// osascriptCommand shows n in Notification Center. The text is put into AppleScript string
// literals, which is the one place it could escape into the script.
func osascriptCommand(n Notice) (string, []string) {
	script := "display notification " + appleScriptString(n.Body) + " with title " + appleScriptString(n.Title)
	if n.Urgent {
		script += ` sound name "Basso"`
	}
	return "osascript", []string{"-e", script}
}

// appleScriptString quotes s as an AppleScript string literal: backslash and double quote are
// the only characters with meaning inside one; line breaks and tabs are written as escapes so
// the script stays on one line.
func appleScriptString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			// An argument cannot carry NUL.
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// toastAppID is Windows PowerShell's AppUserModelID. Windows shows toasts only for a registered
// AppUserModelID; until the installer registers one for tollgate, the toast comes from PowerShell.
const toastAppID = `{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\WindowsPowerShell\v1.0\powershell.exe`

// powershellToastCommand shows n as a Windows toast. The script goes in -EncodedCommand, which
// sidesteps the Windows command-line quoting rules; inside the script the text is escaped
// twice, as XML for the toast and then as a PowerShell single-quoted string.
func powershellToastCommand(n Notice) (string, []string) {
	return "powershell.exe", []string{"-NoProfile", "-NonInteractive", "-EncodedCommand", powershellEncode(toastScript(n))}
}

// toastScript is the PowerShell that powershellToastCommand runs. Windows PowerShell 5.1 (not
// PowerShell 7) is what can load the WinRT notification types.
func toastScript(n Notice) string {
	duration := "short"
	if n.Urgent {
		duration = "long"
	}
	toast := fmt.Sprintf(`<toast duration="%s"><visual><binding template="ToastGeneric"><text>%s</text><text>%s</text></binding></visual></toast>`,
		duration, xmlText(n.Title), xmlText(n.Body))
	return strings.Join([]string{
		`$ErrorActionPreference = 'Stop'`,
		`[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime] | Out-Null`,
		`[Windows.Data.Xml.Dom.XmlDocument, Windows.Data.Xml.Dom.XmlDocument, ContentType = WindowsRuntime] | Out-Null`,
		`$xml = New-Object Windows.Data.Xml.Dom.XmlDocument`,
		`$xml.LoadXml(` + powershellString(toast) + `)`,
		`$toast = New-Object Windows.UI.Notifications.ToastNotification $xml`,
		`[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier(` + powershellString(toastAppID) + `).Show($toast)`,
	}, "\n")
}

// xmlText escapes s as XML character data; characters XML cannot hold become U+FFFD.
func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder cannot fail
	return b.String()
}

// powershellString quotes s as a PowerShell single-quoted (verbatim) string. PowerShell ends
// such a string at a typographic single quote too (U+2018 to U+201B), not only at ', and any of
// them is escaped by doubling.
func powershellString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// powershellEncode encodes a script for -EncodedCommand: base64 of its UTF-16LE.
func powershellEncode(script string) string {
	units := utf16.Encode([]rune(script))
	buf := make([]byte, 0, 2*len(units))
	for _, u := range units {
		buf = binary.LittleEndian.AppendUint16(buf, u)
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// withoutNUL drops NUL bytes, which no program argument can carry.
func withoutNUL(s string) string {
	return strings.ReplaceAll(s, "\x00", "")
}
