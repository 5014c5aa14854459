# Safe boot: start neither the app nor the watchdog, so the REPL, mpremote and
# `make deploy` have the board to themselves. machine.WDT cannot be stopped and
# survives Ctrl-C and soft reset: on a board running the app, a file copy longer
# than the watchdog's timeout would be cut short by a reset. Two ways in, both
# checked before the watchdog starts:
#   - a file named `safeboot` next to config.json (`make deploy` writes it and resets
#     the board, copies, then deletes it and resets again);
#   - the board's new-code button held during the first second after power-up or
#     reset (press it just after releasing RESET: on most boards it is GPIO 0, and
#     held *during* reset it starts the ROM bootloader instead).
MARKER = "safeboot"
HOLD_WINDOW_MS = 1000


def marker_path(config_path):
    i = config_path.rfind("/")
    return (config_path[:i + 1] if i >= 0 else "") + MARKER


def _marker(config_path):
    try:
        open(marker_path(config_path)).close()
        return True
    except OSError:
        return False


def _held(board, clock, window_ms):
    button = board.buttons.get("new_code") if board is not None else None
    if button is None:
        return False
    start = clock.ticks_ms()
    while True:
        if button.value():
            return True
        if clock.ticks_diff(clock.ticks_ms(), start) >= window_ms:
            return False
        clock.sleep_ms(20)


def requested(config_path, board, clock, machine=None):
    """'marker', 'button' or None. Waking from deep sleep skips the button window (a sensor
    must not stay awake a second longer each wake)."""
    if _marker(config_path):
        return "marker"
    window = HOLD_WINDOW_MS
    if machine is not None and hasattr(machine, "DEEPSLEEP_RESET") and machine.reset_cause() == machine.DEEPSLEEP_RESET:
        window = 0
    return "button" if _held(board, clock, window) else None


def enter_if_asked(config_path, board, display, clock, log, machine=None):
    """True (and the SAFE BOOT screen, and event=safe_boot) when safe boot was asked for."""
    how = requested(config_path, board, clock, machine)
    if how:
        log.event("safe_boot", trigger=how)
        if display is not None:
            display.message("safe_boot", "Delete /" + MARKER + " or redeploy to start the app."
                            if how == "marker" else "Reset the board to start the app.")
    return bool(how)
