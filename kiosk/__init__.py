"""Kiosk (máy lấy số): the citizens' touch app that issues tickets and prints them as ESC/POS
raster images."""
