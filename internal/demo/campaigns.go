package demo

import "github.com/switchboard/switchboard/internal/whatsapp/simulator"

// SandboxWABA is the demo's WhatsApp Business Account as the simulator serves it, for a
// simulator run outside the demo process (tests that kill Switchboard and keep the simulator's
// record of sends).
func SandboxWABA() simulator.WABA { return wabA() }
