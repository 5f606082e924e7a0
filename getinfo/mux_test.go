package getinfo_test

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/getinfo"
)

func TestMuxAnswer(t *testing.T) {
	m := getinfo.NewMux()
	m.Handle("a", "exact a", value("exact"))
	m.HandlePrefix("a", "prefix a", value("prefix-a"))
	m.HandlePrefix("a/", "prefix a/", value("prefix-a/"))
	m.HandlePrefix("a/b/", "prefix a/b/", value("prefix-a/b/"))
	m.Handle("a/b/c", "exact a/b/c", value("exact-a/b/c"))
	m.HandlePrefixFunc("cfg/", "declines the bare prefix", func(dst []byte, key string) ([]byte, error) {
		if key == "cfg/" {
			return dst, getinfo.ErrUnrecognized
		}
		return append(dst, key...), nil
	})
	m.Handle("version", "version", value("0.4.9.11"))

	tests := []struct {
		key, want string
		code      int // 0 for success
	}{
		{"a", "exact", 0},
		{"ab", "prefix-a", 0},
		{"a/", "prefix-a/", 0},
		{"a/x", "prefix-a/", 0},
		{"a/b/", "prefix-a/b/", 0},
		{"a/b/x", "prefix-a/b/", 0},
		{"a/b/c", "exact-a/b/c", 0},
		{"a/b/cd", "prefix-a/b/", 0},
		{"cfg/x", "cfg/x", 0},
		{"cfg/", "", 552},
		{"cfg", "", 552},
		{"version", "0.4.9.11", 0},
		{"VERSION", "", 552},
		{"Version", "", 552},
		{"version ", "", 552},
		{"", "", 552},
		{"b", "", 552},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.key), func(t *testing.T) {
			got, err := m.Answer([]byte("pre:"), tt.key)
			if tt.code == 0 {
				require.NoError(t, err)
				assert.Equal(t, "pre:"+tt.want, string(got))
				return
			}
			var e *getinfo.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.key, e.Key)
			assert.Equal(t, "pre:", string(got))
		})
	}
}

func TestMuxZeroValueAndNil(t *testing.T) {
	var m getinfo.Mux
	_, err := m.Answer(nil, "version")
	assert.ErrorIs(t, err, getinfo.ErrUnrecognized)
	assert.Empty(t, m.Names())
	m.Handle("version", "doc", value("1"))
	got, err := m.Answer(nil, "version")
	require.NoError(t, err)
	assert.Equal(t, "1", string(got))

	var nilMux *getinfo.Mux
	_, err = nilMux.Answer(nil, "version")
	assert.ErrorIs(t, err, getinfo.ErrUnrecognized)
	assert.Nil(t, nilMux.Names())
}

func TestMuxAppendInfoPassesErrorsThrough(t *testing.T) {
	cause := errors.New("private")
	m := getinfo.NewMux()
	m.Handle("broken", "doc", fail(cause))
	_, err := m.AppendInfo(nil, "broken")
	assert.Same(t, cause, err, "AppendInfo does not normalise")
	_, err = m.AppendInfo(nil, "nosuchkey")
	assert.Same(t, getinfo.ErrUnrecognized, err)
}

func TestMuxAnswerErrors(t *testing.T) {
	m := newTestMux()
	tests := []struct {
		key  string
		code int
		text string
	}{
		{"nosuchkey", 552, `Unrecognized key "nosuchkey"`},
		{"wrapped", 552, `Unrecognized key "wrapped"`},
		{"desc/id/x", 552, descIDText},
		{"config/", 552, `Unrecognized key "config/"`},
		{"a\rb", 552, `Unrecognized key "a\rb"`},
		{"address", 551, "Address unknown"},
		{"fingerprint", 551, "Not running in server mode"},
		{"unavailable-empty", 551, "Internal error"},
		{"broken", 551, "Internal error"},
		{"panics", 551, "Internal error"},
		{"inner/nope", 552, `Unrecognized key "inner/nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			dst := make([]byte, 3, 64)
			got, err := m.Answer(dst, tt.key)
			assert.Len(t, got, 3, "dst must come back with its length unchanged")

			var e *getinfo.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.key, e.Key)
			assert.Equal(t, tt.text, e.Text)
			assert.Equal(t, tt.code == 552, errors.Is(err, getinfo.ErrUnrecognized))
			assert.Equal(t, tt.code == 551, errors.Is(err, getinfo.ErrInternal))
			assert.NotContains(t, e.Text, "10.1.2.3", "a handler's error text must not be sent")
		})
	}
}

func TestMuxAnswerKeepsCause(t *testing.T) {
	m := newTestMux()
	_, err := m.Answer(nil, "broken")
	var e *getinfo.Error
	require.ErrorAs(t, err, &e)
	require.Error(t, e.Err)
	assert.Contains(t, e.Err.Error(), "10.1.2.3", "the cause stays available to the host")
	assert.Equal(t, `getinfo: 551 Internal error: dial 10.1.2.3:443: refused`, err.Error())

	_, err = m.Answer(nil, "panics")
	require.ErrorAs(t, err, &e)
	assert.Contains(t, e.Err.Error(), "boom")

	_, err = m.Answer(nil, "nosuchkey")
	assert.Equal(t, `getinfo: 552 Unrecognized key "nosuchkey"`, err.Error())

	_, err = m.Answer(nil, "address")
	assert.Equal(t, `getinfo: 551 Address unknown`, err.Error())
}

func TestMuxRecoversPanics(t *testing.T) {
	m := getinfo.NewMux()
	m.HandleFunc("runtime", "doc", func(dst []byte, _ string) ([]byte, error) {
		return dst[:cap(dst)+1], nil // a runtime error, slice bounds out of range
	})
	m.HandleFunc("panic-err", "doc", func([]byte, string) ([]byte, error) { panic(getinfo.ErrUnrecognized) })
	m.HandleFunc("panic-nil", "doc", func([]byte, string) ([]byte, error) { panic(nil) })
	for _, key := range []string{"runtime", "panic-err", "panic-nil"} {
		t.Run(key, func(t *testing.T) {
			var got []byte
			var err error
			require.NotPanics(t, func() { got, err = m.Answer([]byte("x"), key) })
			assert.Equal(t, "x", string(got))
			assert.ErrorIs(t, err, getinfo.ErrInternal, "a panic is always a 551")
			assert.NotErrorIs(t, err, getinfo.ErrUnrecognized)
		})
	}
}

func TestMuxShortSliceIsInternal(t *testing.T) {
	m := getinfo.NewMux()
	m.HandleFunc("short", "doc", func(dst []byte, _ string) ([]byte, error) { return dst[:0], nil })
	got, err := m.Answer([]byte("abc"), "short")
	assert.Equal(t, "abc", string(got))
	assert.ErrorIs(t, err, getinfo.ErrInternal)
}

func TestMuxPanicsOnMisuse(t *testing.T) {
	h := value("v")
	tests := []struct {
		name string
		f    func(m *getinfo.Mux)
	}{
		{"duplicate key", func(m *getinfo.Mux) { m.Handle("version", "doc", h) }},
		{"duplicate prefix", func(m *getinfo.Mux) { m.HandlePrefix("ns/", "doc", h) }},
		{"empty key", func(m *getinfo.Mux) { m.Handle("", "doc", h) }},
		{"empty prefix", func(m *getinfo.Mux) { m.HandlePrefix("", "doc", h) }},
		{"nil handler", func(m *getinfo.Mux) { m.Handle("k", "doc", nil) }},
		{"nil prefix handler", func(m *getinfo.Mux) { m.HandlePrefix("k/", "doc", nil) }},
		{"nil HandlerFunc", func(m *getinfo.Mux) { m.Handle("k", "doc", getinfo.HandlerFunc(nil)) }},
		{"nil func", func(m *getinfo.Mux) { m.HandleFunc("k", "doc", nil) }},
		{"nil prefix func", func(m *getinfo.Mux) { m.HandlePrefixFunc("k/", "doc", nil) }},
		{"space in key", func(m *getinfo.Mux) { m.Handle("a b", "doc", h) }},
		{"tab in key", func(m *getinfo.Mux) { m.Handle("a\tb", "doc", h) }},
		{"NUL in key", func(m *getinfo.Mux) { m.Handle("a\x00", "doc", h) }},
		{"CR in prefix", func(m *getinfo.Mux) { m.HandlePrefix("a\r/", "doc", h) }},
		{"DEL in key", func(m *getinfo.Mux) { m.Handle("a\x7f", "doc", h) }},
		{"8-bit in key", func(m *getinfo.Mux) { m.Handle("caf\xc3\xa9", "doc", h) }},
		{"empty doc", func(m *getinfo.Mux) { m.Handle("k", "", h) }},
		{"empty prefix doc", func(m *getinfo.Mux) { m.HandlePrefix("k/", "", h) }},
		{"LF in doc", func(m *getinfo.Mux) { m.Handle("k", "two\nlines", h) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := getinfo.NewMux()
			m.Handle("version", "doc", h)
			m.HandlePrefix("ns/", "doc", h)
			assert.Panics(t, func() { tt.f(m) })
			// A failed registration leaves the Mux usable and unchanged.
			assert.Len(t, m.Names(), 2)
			got, err := m.Answer(nil, "version")
			require.NoError(t, err)
			assert.Equal(t, "v", string(got))
		})
	}

	m := getinfo.NewMux()
	assert.NotPanics(t, func() {
		m.Handle("ns/", "exact", h)
		m.HandlePrefix("ns/", "prefix", h)
		m.Handle("a", "doc", h)
		m.HandlePrefix("b", "same length as a", h)
		m.Handle("~!<desc>*", "printable ASCII is fine", h)
	}, "an exact key and a prefix may share a name")
}

func TestMuxConcurrentRegistration(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := getinfo.NewMux()
	m.Handle("version", "doc", value("0.4.9.11"))
	const n = 200
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			m.Handle(fmt.Sprintf("k%d", i), "doc", value("v"))
			m.HandlePrefix(fmt.Sprintf("p%d/", i), "doc", value("pv"))
		}
	})
	for range 4 {
		wg.Go(func() {
			for i := range n {
				got, err := m.Answer(nil, "version")
				assert.NoError(t, err)
				assert.Equal(t, "0.4.9.11", string(got))
				if got, err := m.Answer(nil, fmt.Sprintf("p%d/x", i)); err == nil {
					assert.Equal(t, "pv", string(got))
				}
				assert.NoError(t, getinfo.WriteReply(io.Discard, m, []string{"version", fmt.Sprintf("k%d", i)}))
				_ = m.Names()
			}
		})
	}
	wg.Wait()
	assert.Len(t, m.Names(), 1+2*n)
}

func TestMuxHandlerMayRegister(t *testing.T) {
	m := getinfo.NewMux()
	m.HandleFunc("register", "registers late", func(dst []byte, _ string) ([]byte, error) {
		m.Handle("late", "registered by a handler", value("here"))
		return append(dst, "ok"...), nil
	})
	got, err := m.Answer(nil, "register")
	require.NoError(t, err, "the table lock must not be held while a handler runs")
	assert.Equal(t, "ok", string(got))
	got, err = m.Answer(nil, "late")
	require.NoError(t, err)
	assert.Equal(t, "here", string(got))
}
