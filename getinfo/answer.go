package getinfo

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// errShortSlice is the cause of a 551 when a handler returned less than dst.
var errShortSlice = errors.New("getinfo: handler returned a slice shorter than dst")

// answer asks h for key and normalises the outcome as a controller sees it.
// It backs both Mux.Answer and WriteReply, so that they cannot disagree. On
// error it returns dst with its length unchanged and a *Error; a panic in the
// handler becomes a 551, since a hostile key must never crash the relay. A nil
// h recognizes no key.
func answer(h Handler, dst []byte, key string) (out []byte, e *Error) {
	n := len(dst)
	if h == nil {
		return dst, normalize(key, ErrUnrecognized)
	}
	defer func() {
		if r := recover(); r != nil {
			out, e = dst[:n], normalize(key, panicError(r))
		}
	}()
	out, err := h.AppendInfo(dst, key)
	switch {
	case err != nil:
		return dst[:n], normalize(key, err)
	case len(out) < n:
		return dst[:n], normalize(key, errShortSlice)
	}
	return out, nil
}

// panicError turns a recovered value into the cause of a 551. It does not
// wrap a recovered error, lest that error decide the code.
func panicError(r any) error {
	return fmt.Errorf("getinfo: handler panicked: %v\n%s", r, debug.Stack())
}
