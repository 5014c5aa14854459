# Thin display drivers for the boards in boards/: each display is a "surface"
# (width, height, fill_rect, text, show, depth, light, dark). SSD1306 is not here:
# it comes from micropython-lib (`mip install ssd1306`).
