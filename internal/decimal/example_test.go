package decimal_test

import (
	"fmt"

	"github.com/conninfo/conninfo/internal/decimal"
)

func ExampleParseUint64() {
	for _, s := range []string{"1041", "0", "01", "+1", "18446744073709551616"} {
		n, ok := decimal.ParseUint64(s)
		fmt.Println(s, n, ok)
	}
	// Output:
	// 1041 1041 true
	// 0 0 true
	// 01 0 false
	// +1 0 false
	// 18446744073709551616 0 false
}
