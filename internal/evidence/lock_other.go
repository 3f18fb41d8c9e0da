//go:build !unix

package evidence

import "errors"

// lock: the archive needs flock, which this platform lacks.
func lock(string) (func(), error) {
	return nil, errors.New("the evidence archive needs flock (a Unix system)")
}
