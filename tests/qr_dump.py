# Encode a corpus with deviceflow.qr and print each symbol, one line per input line.
# Runs under MicroPython and CPython alike (tests/test_qr_decode.py runs it under both):
#
#   MICROPYPATH=lib micropython tests/qr_dump.py CORPUS
#
# CORPUS: one JSON list per line: [hex data, ecc, version or null, mask or null, min_version]
# Output: "version ecc mask hexmodules" per line, or "error <message>".
import binascii
import json
import sys

from deviceflow import qr


def dump_line(line):
    item = json.loads(line)
    data = binascii.unhexlify(item[0])
    try:
        q = qr.encode(data, item[1], version=item[2], mask=item[3], min_version=item[4])
    except ValueError as e:
        return "error " + str(e)
    return "%d %s %d %s" % (q.version, q.ecc, q.mask, binascii.hexlify(q.modules).decode())


def main(path):
    with open(path) as f:
        for line in f:
            if line.strip():
                print(dump_line(line))


if __name__ == "__main__":
    main(sys.argv[1])
