package getinfo_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/getinfo"
)

func TestErrorIs(t *testing.T) {
	e552 := &getinfo.Error{Code: getinfo.StatusUnrecognized}
	e551 := &getinfo.Error{Code: getinfo.StatusInternal}
	assert.ErrorIs(t, e552, getinfo.ErrUnrecognized)
	assert.NotErrorIs(t, e552, getinfo.ErrInternal)
	assert.ErrorIs(t, e551, getinfo.ErrInternal)
	assert.NotErrorIs(t, e551, getinfo.ErrUnrecognized)
	assert.NotErrorIs(t, &getinfo.Error{Code: 250}, getinfo.ErrInternal)

	cause := errors.New("cause")
	assert.ErrorIs(t, &getinfo.Error{Code: 551, Err: cause}, cause, "Unwrap reaches the handler's error")

	assert.ErrorIs(t, getinfo.Unavailable("x"), getinfo.ErrInternal)
	assert.ErrorIs(t, getinfo.UnrecognizedWithText("x"), getinfo.ErrUnrecognized)
}

// TestHandlerTexts covers the texts a handler chooses, which are sent.
func TestHandlerTexts(t *testing.T) {
	other := getinfo.NewMux() // keys under other names, for aliases
	other.Handle("address", "doc", fail(getinfo.Unavailable("Address unknown")))

	tests := []struct {
		name string
		err  error
		code int
		text string
	}{
		{"unavailable", getinfo.Unavailable("Address unknown"), 551, "Address unknown"},
		{"unavailable wrapped", fmt.Errorf("ctx: %w", getinfo.Unavailable("Address unknown")), 551, "Address unknown"},
		{"unavailable empty", getinfo.Unavailable(""), 551, "Internal error"},
		{"unavailable CRLF escaped", getinfo.Unavailable("a\r\n250 OK"), 551, `a\r\n250 OK`},
		{"unrecognized text", getinfo.UnrecognizedWithText(descIDText), 552, descIDText},
		{"unrecognized text empty", getinfo.UnrecognizedWithText(""), 552, `Unrecognized key "k"`},
		{"unrecognized text LF escaped", getinfo.UnrecognizedWithText("a\nb"), 552, `a\nb`},
		{"sentinel", getinfo.ErrUnrecognized, 552, `Unrecognized key "k"`},
		{"sentinel wrapped", fmt.Errorf("x: %w", getinfo.ErrUnrecognized), 552, `Unrecognized key "k"`},
		{"ErrInternal", getinfo.ErrInternal, 551, "Internal error"},
		{"plain", errors.New("secret"), 551, "Internal error"},
		{"odd code", &getinfo.Error{Code: 250, Text: "sneaky"}, 551, "Internal error"},
		// A nested Answer for another key: its default text is rewritten,
		// its own texts are kept.
		{"nested default 552", answerErr(other, "alias"), 552, `Unrecognized key "k"`},
		{"nested 551", answerErr(other, "address"), 551, "Address unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := getinfo.NewMux()
			m.Handle("k", "doc", fail(tt.err))
			_, err := m.Answer(nil, "k")
			var e *getinfo.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.text, e.Text)
			assert.Equal(t, "k", e.Key)
		})
	}
}

func answerErr(m *getinfo.Mux, key string) error {
	_, err := m.Answer(nil, key)
	return err
}
