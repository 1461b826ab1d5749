package locks

// ParseArgumentsForTest parses an arguments file's text.
var ParseArgumentsForTest = parseArguments

// ShapeSearchForTest is the flush search's program shapes alone.
var ShapeSearchForTest = shapeSearch

// FaithfulFailureForTest is the faithful kernel's re-run of a failing
// program.
var FaithfulFailureForTest = faithfulFailure
