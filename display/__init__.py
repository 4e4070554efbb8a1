"""Waiting-room display (màn hình phòng chờ) with voice announcements. Built in the display issue."""
