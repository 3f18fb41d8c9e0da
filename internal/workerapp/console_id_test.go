package workerapp

import "testing"

// The destruction budget's key names the console by host and path only: a credential in the URL
// (user info, a query) never reaches a workflow ID.
func TestConsoleIDKeepsNoCredential(t *testing.T) {
	for url, want := range map[string]string{
		"http://127.0.0.1:8088":                           "127.0.0.1:8088",
		"https://Console.Example.com/api/":                "console.example.com/api",
		"https://user:secret@console.example.com/a?k=tok": "console.example.com/a",
		"not a url": "",
	} {
		if got := consoleID(url); got != want {
			t.Errorf("consoleID(%q) = %q, want %q", url, got, want)
		}
	}
}
