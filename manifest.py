# Freeze deviceflow, the app and the board files into a custom MicroPython
# firmware image (no .py/.mpy on the filesystem, less RAM at import):
#
#   cd micropython/ports/esp32
#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/this/manifest.py
#   (ESP32-S3 boards: BOARD=ESP32_GENERIC_S3)
#
# Then put only /config.json, the CA file and /main.py (a copy of firmware/main.py)
# on the board's filesystem. tests/test_mpy.py checks that this file lists every
# module a board needs (tools/build_mpy.py device_modules()).
include("$(PORT_DIR)/boards/manifest.py")

# micropython-lib: HMAC for the token store, the SSD1306 OLED driver.
require("hmac")
require("ssd1306")

# The library: lib/deviceflow/** (drivers included).
package("deviceflow", base_path="lib")

# The app (firmware/); main.py stays on the filesystem, boot runs it.
for name in ("app", "booting", "buttons", "config", "display", "log", "platform_esp32", "rng",
             "safeboot", "signedin", "start", "startup"):
    module(name + ".py", base_path="firmware")

# Board files: the app imports the one named by config.json's "board".
for name in ("esp32_s3_box", "esp32_s3_box_3", "generic_sh1106", "generic_ssd1306", "generic_ssd1306_128x32",
             "heltec_wifi_kit_32", "heltec_wifi_kit_32_v3", "lilygo_t5_213", "lilygo_t_display",
             "m5stack_core", "m5stack_coreink"):
    module(name + ".py", base_path="boards")
