// Package cescape escapes bytes as tor's control port writes them inside
// quotes (tor's esc_for_log): backslash, double and single quote, LF, CR and
// TAB as \\ \" \' \n \r \t, and every other byte below 0x20, 0x7F and every
// byte from 0x80 as a backslash and three octal digits.
//
// Its functions are pure and safe for concurrent use.
package cescape
