"""Kiosk (máy lấy số): the citizens' touch app that issues and prints tickets. Built in the kiosk issue."""
