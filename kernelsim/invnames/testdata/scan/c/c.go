// Package c declares names for package a; a declaration is no use.
package c

const (
	Other  = "other-constant"
	Unused = "fixture-const"
)
