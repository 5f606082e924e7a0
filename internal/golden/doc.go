// Package golden compares test output with golden files, byte for byte.
//
// Run the tests with -update to rewrite the files from the current output;
// review the diff before committing it.
package golden
