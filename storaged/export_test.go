package storaged

// SetHintAppliedHook makes f run in every hinted write after its Apply has
// returned and before the write is settled in the hint book, and returns a
// function that removes it. Tests use it to hold a writer at that point.
func SetHintAppliedHook(f func()) (restore func()) {
	testHookHintApplied.Store(&f)
	return func() { testHookHintApplied.Store(nil) }
}
