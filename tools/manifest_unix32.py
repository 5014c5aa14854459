# Frozen manifest for the 32-bit Unix port that measures the frozen install path
# (tools/build_port32.py --frozen): the port's own frozen modules, then everything a board
# freezes from manifest.py, with the Unix platform and board in place of the ESP32 ones.
# main.py stays a source file, as on a board. Paths are relative to this file.
import os

include("$(PORT_DIR)/variants/manifest.py")

require("hmac")
require("ssd1306")
package("deviceflow", base_path="../lib")
for folder in ("../firmware", "../boards"):
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py") and name not in ("main.py", "platform_esp32.py"):
            module(name, base_path=folder)
