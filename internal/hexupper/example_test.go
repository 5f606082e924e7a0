package hexupper_test

import (
	"encoding/binary"
	"fmt"

	"github.com/conninfo/conninfo/internal/hexupper"
)

func ExampleDigits8() {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], hexupper.Digits8(0x9695dfc3))
	fmt.Println(string(b[:]))
	// Output: 9695DFC3
}
