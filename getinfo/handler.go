package getinfo

// Handler answers GETINFO keys. AppendInfo appends the value of key to dst and
// returns the extended slice. It returns an error wrapping [ErrUnrecognized]
// to decline a key, the result of [Unavailable] for tor's "551 <text>", or any
// other error for "551 Internal error": the text of such an error never
// reaches the controller.
//
// A value may hold any bytes. One that holds a CR or LF is sent as a data
// block. AppendInfo must be safe for concurrent use.
type Handler interface {
	AppendInfo(dst []byte, key string) ([]byte, error)
}

// HandlerFunc adapts an ordinary function to a [Handler].
type HandlerFunc func(dst []byte, key string) ([]byte, error)

// AppendInfo calls f(dst, key).
func (f HandlerFunc) AppendInfo(dst []byte, key string) ([]byte, error) {
	return f(dst, key)
}
