// Package b calls package a's builder, qualified.
package b

import x "fixture/a"

func g() { _ = x.Build("qualified-call") }
