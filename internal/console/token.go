package console

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// LoadToken returns the console token: the trimmed content of file (the path in
// CONSOLE_TOKEN_FILE) when file is set, else the trimmed env (the value of CONSOLE_TOKEN).
// A file that is set but unreadable or empty is an error, not a silent fall back to env. No error
// ever contains the token.
func LoadToken(file, env string) (string, error) {
	if file = strings.TrimSpace(file); file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			// *fs.PathError names the path and the reason, never the content.
			return "", fmt.Errorf("console: read token file (CONSOLE_TOKEN_FILE): %w", err)
		}
		token := strings.TrimSpace(string(data))
		if token == "" {
			return "", fmt.Errorf("console: token file %s is empty: write the console token into it", file)
		}
		if strings.ContainsAny(token, "\r\n") {
			return "", fmt.Errorf("console: token file %s has more than one line: it must hold the token alone", file)
		}
		return token, nil
	}
	if token := strings.TrimSpace(env); token != "" {
		return token, nil
	}
	return "", errors.New("console: no token: set CONSOLE_TOKEN_FILE (preferred) or CONSOLE_TOKEN")
}
