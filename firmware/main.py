# Boot runs this file as source (it is compiled into RAM on every boot), so it stays tiny:
# the firmware's entry point is start.run (firmware/start.py).
import sys
from start import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
