package installer

import "github.com/kardianos/service"

// control is the service.Interface that the installer hands kardianos: installing and
// controlling a service never runs it, so Start and Stop are never called. Running is
// RunService's job.
type noRun struct{}

func (noRun) Start(service.Service) error { return nil }
func (noRun) Stop(service.Service) error  { return nil }
