package getinfo

import (
	"errors"
	"strconv"
)

// Reply status codes, as tor sends them for GETINFO.
const (
	StatusOK           = 250 // every key answered
	StatusInternal     = 551 // a handler failed; the reply is this one line
	StatusUnrecognized = 552 // a key is unknown or was declined
)

// Sentinels for [errors.Is].
var (
	// ErrUnrecognized is returned, possibly wrapped, by a handler to decline a
	// key; the controller gets 552. A *Error with Code 552 matches it.
	ErrUnrecognized = errors.New("getinfo: unrecognized key")
	// ErrInternal is matched by every *Error with Code 551.
	ErrInternal = errors.New("getinfo: internal error")
)

// internalText is tor's default 551 text.
const internalText = "Internal error"

// Error is the typed error that [Mux.Answer] returns: the code and text a
// controller is sent, which are safe to send (a control byte in Text is
// escaped), and the handler's error. [Unavailable] and [UnrecognizedWithText]
// return an Error too, with no Key; a handler may return any Error of either
// code, such as one from another Mux's Answer, and its Text is kept, unless it
// is the default 552 text for its own Key, which is rewritten for the key
// asked.
type Error struct {
	Code int    // StatusUnrecognized (552) or StatusInternal (551)
	Key  string // the key as asked
	Text string // reply text after the code, e.g. `Unrecognized key "x"` or `Address unknown`
	Err  error  // the handler's error, if any; never sent to controllers
}

// Error returns the code and text, then the handler's error if it adds
// anything. Unlike Text it may hold private data: log it with care.
func (e *Error) Error() string {
	s := "getinfo: " + strconv.Itoa(e.Code) + " " + e.Text
	if e.Err != nil && e.Err != ErrUnrecognized && e.Err != ErrInternal {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the handler's error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether e has the code that target stands for:
// [ErrUnrecognized] for 552, [ErrInternal] for 551.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnrecognized:
		return e.Code == StatusUnrecognized
	case ErrInternal:
		return e.Code == StatusInternal
	}
	return false
}

// Unavailable returns the error a handler gives for tor's "551 <text>", such
// as "Address unknown": the key is known but has no value now. An empty text
// gives "Internal error". The text is sent to the controller, with any
// control byte escaped as [AppendEscapedKey] does.
func Unavailable(text string) error {
	return &Error{Code: StatusInternal, Text: text}
}

// UnrecognizedWithText returns the error a handler gives to decline a key
// with its own 552 text, as tor does for desc/id/*. An empty text gives the
// usual `Unrecognized key "<key>"`. The text is sent to the controller, with
// any control byte escaped as [AppendEscapedKey] does.
func UnrecognizedWithText(text string) error {
	return &Error{Code: StatusUnrecognized, Text: text}
}

// normalize turns a handler's error for key into what the controller sees.
// A *Error of either code keeps its text (so that a nested Mux.Answer passes
// through), except that a default 552 text is rewritten for key; ErrUnrecognized
// gives the default 552; anything else gives "551 Internal error", so that the
// error's own text, which may hold private data, is never sent.
func normalize(key string, err error) *Error {
	e := &Error{Code: StatusInternal, Key: key, Text: internalText, Err: err}
	var he *Error
	switch {
	case errors.As(err, &he) && (he.Code == StatusInternal || he.Code == StatusUnrecognized):
		if he == err {
			// The handler's *Error is only a carrier: keep its cause.
			e.Err = he.Err
		}
		e.Code = he.Code
		switch {
		case he.Code == StatusUnrecognized && (he.Text == "" || he.Text == unrecognizedText(he.Key)):
			e.Text = unrecognizedText(key)
		case he.Text != "":
			e.Text = string(AppendEscapedKey(nil, he.Text))
		}
	case errors.Is(err, ErrUnrecognized):
		e.Code = StatusUnrecognized
		e.Text = unrecognizedText(key)
	}
	return e
}

// unrecognizedText is tor's default 552 text for key.
func unrecognizedText(key string) string {
	b := make([]byte, 0, len(`Unrecognized key ""`)+len(key))
	b = append(b, `Unrecognized key "`...)
	b = AppendEscapedKey(b, key)
	return string(append(b, '"'))
}
