package locks

// ParseArgumentsForTest parses an arguments file's text.
var ParseArgumentsForTest = parseArguments
