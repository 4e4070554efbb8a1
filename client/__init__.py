"""What the kiosk, display and counter apps share: the one connection to the server, the bundled
fonts and the look. The apps are views over live state; nothing here computes queue state."""
