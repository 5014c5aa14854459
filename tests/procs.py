"""Ending a child process (a server, the firmware) that tests and tools started (CPython)."""
import subprocess


def end(proc, grace=5):
    """Ask `proc` to stop (SIGTERM); kill it when it has not stopped within `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)
