// Package entrytest draws connstate entries for property tests: any entry
// with valid flags, every address form and extreme numbers, as
// pgregory.net/rapid generators. It is for tests only; no package a relay
// links imports it.
//
// A generator is safe for concurrent use, as rapid's are.
package entrytest
