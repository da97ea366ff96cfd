package stage

import "errors"

// Errors returned by this package; match them with errors.Is. Returned errors
// wrap these with details.
var (
	ErrUnknown     = errors.New("stage: not a member")
	ErrMember      = errors.New("stage: already a member")
	ErrStatus      = errors.New("stage: member's status does not allow the change")
	ErrStaged      = errors.New("stage: node already in a staged change")
	ErrLast        = errors.New("stage: no valid member would remain")
	ErrClaimant    = errors.New("stage: cannot remove the claimant while others remain")
	ErrNothing     = errors.New("stage: nothing staged")
	ErrBusy        = errors.New("stage: a plan is still in progress")
	ErrVersion     = errors.New("stage: ring version changed since the plan")
	ErrPlanChanged = errors.New("stage: plan changed")
	ErrNotClaimant = errors.New("stage: not the claimant")
	ErrNotReady    = errors.New("stage: cluster not ready")
	ErrOptions     = errors.New("stage: invalid options")
)
