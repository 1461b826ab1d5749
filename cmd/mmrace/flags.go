package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"mmrace/kernelsim/sched"
)

// deprecatedUsage starts the usage of a deprecated alias; help hides it.
const deprecatedUsage = "deprecated alias of -"

// deprecatedAlias makes -old another name of the defined flag -name (the
// same value), so that command lines printed by older versions keep
// working; help does not show it.
func deprecatedAlias(fs *flag.FlagSet, old, name string) {
	fs.Var(fs.Lookup(name).Value, old, deprecatedUsage+name)
}

// scheduleFlag is a -schedule flag: a replay string (v1.…), checked as
// the flag is parsed, so that a bad one is a usage error naming the flag.
type scheduleFlag struct {
	text  string
	sched sched.Schedule
}

// newScheduleFlag defines -schedule on fs, the one name of a replay string
// in every command.
func newScheduleFlag(fs *flag.FlagSet, usage string) *scheduleFlag {
	f := &scheduleFlag{}
	fs.Var(f, "schedule", usage)
	return f
}

func (f *scheduleFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

// Set parses a replay string; the empty string means none.
func (f *scheduleFlag) Set(s string) error {
	sc, err := sched.ParseSchedule(s)
	if err != nil && s != "" {
		return err
	}
	f.text, f.sched = s, sc
	return nil
}

// given reports whether a schedule was given.
func (f *scheduleFlag) given() bool { return f.text != "" }

// replay is a strategy that replays the schedule exactly.
func (f *scheduleFlag) replay() sched.Strategy { return sched.NewReplay(f.sched) }

// parse parses the command's flags, which may come before, between and
// after its positional arguments (-- ends the flags), and returns the
// positional arguments. -h and -help return flag.ErrHelp.
func (e *env) parse(args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		// A flag that takes a value and has no "=value" takes the next
		// argument, whatever it looks like (as the flag package does).
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := e.fs.Lookup(name); f != nil && !hasValue && !isBool(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := e.fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		hint := ""
		if strings.HasPrefix(err.Error(), "flag provided but not defined") {
			hint = fmt.Sprintf(" (mmrace %s -h lists the flags)", e.fs.Name())
		}
		return nil, fmt.Errorf("%w: %s: %v%s", errUsage, e.fs.Name(), err, hint)
	}
	return pos, nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseNoArgs parses a command that takes flags only.
func (e *env) parseNoArgs(args []string) error {
	pos, err := e.parse(args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("%w: %s: unexpected argument %q", errUsage, e.fs.Name(), pos[0])
	}
	return err
}

// parseFile parses a command that takes one FILE; what names it in the
// error when it is missing.
func (e *env) parseFile(args []string, what string) (string, error) {
	pos, err := e.parse(args)
	switch {
	case err != nil:
		return "", err
	case len(pos) == 0:
		return "", fmt.Errorf("%w: %s: expected %s (usage: %s)", errUsage, e.fs.Name(), what, e.cmd.usageLine())
	case len(pos) > 1:
		return "", fmt.Errorf("%w: %s: unexpected argument %q", errUsage, e.fs.Name(), pos[1])
	}
	return pos[0], nil
}
