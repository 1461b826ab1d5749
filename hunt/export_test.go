package hunt

// RulesReplayForTest is rulesReplay.
var RulesReplayForTest = rulesReplay
