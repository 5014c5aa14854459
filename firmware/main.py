# Boot runs this file as source (it is compiled into RAM on every boot), so it stays tiny:
# the firmware's entry point is start.run (firmware/start.py).
import sys
from start import ON_HOST, run

if __name__ == "__main__":
    code = run(sys.argv[1:])
    if ON_HOST:  # on a board, SystemExit soft-resets and runs main.py again
        sys.exit(code)
