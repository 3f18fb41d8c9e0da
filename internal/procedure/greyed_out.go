package procedure

// ShownByGreyedOut reports whether a greyed-out record (取消線) shows that the step has happened:
// the wipe of §2 and the profile removals of §3 each end in a greyed-out record, so a device that
// pre-flight finds greyed-out goes straight to the delete of 4-2.
func ShownByGreyedOut(id StepID) bool {
	switch id {
	case RemoveRestrictionsProfile, UserWipe, ConsoleWipe, RemoveProfiles, UserRemoveMDMProfile, AwaitGreyedOut:
		return true
	}
	return false
}
