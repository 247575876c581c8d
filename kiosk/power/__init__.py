"""Screen power: relays on GPIO pins, weekly power windows, manual overrides,
the "blank all" kill switch, controller health and the systemd watchdog.

Modules: `clock` (real and test clocks), `evaluate` (pure on/off decisions),
`relay` (the gpiozero device and its pin factory), `controller` (relays and dark
faces, called every player loop pass), `plugin` (the controller, health and
watchdog in the player loop), `service` (what the admin and the CLI call),
`health`, `watchdog` (sd_notify), `events` (event rows and log lines), `cli`.
"""
