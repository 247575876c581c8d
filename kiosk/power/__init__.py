"""Screen power: relays on GPIO pins, weekly power windows, manual overrides,
the "blank all" kill switch, controller health and the systemd watchdog.

Modules: `clock` (real and test clocks), `evaluate` (pure on/off decisions),
`relay` (the gpiozero device), `controller` (what the player loop calls),
`service` (what the admin and the CLI call), `health`, `watchdog`, `cli`.
"""
