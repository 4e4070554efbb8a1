"""`hangdoi counter`: the officer's app (with the citizen's rating window), or `--panel`, the
small screen above the counter."""

from __future__ import annotations

import argparse
import logging
import sys

from counter.settings import from_arguments

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    settings = from_arguments(args)
    if args.panel and not settings.token:
        print(
            "Lỗi: màn hình quầy cần mã thiết bị loại counter_panel (HANGDOI_COUNTER_TOKEN hoặc token trong counter.toml).",
            file=sys.stderr,
        )
        return 2

    from PySide6.QtWidgets import QApplication

    from client.connection import Connection
    from client.snapshots import save_snapshots
    from client.theme import install_fonts
    from counter.model import CounterModel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    install_fonts(app)  # type: ignore[arg-type]
    if args.panel:
        from counter.panel import PanelWindow

        connection = Connection(settings.server_url, settings.token, scope="counter")
        model = CounterModel(connection)
        panel = PanelWindow(model)
        save_snapshots(panel, "counter-panel")
        model.start_panel()
        if settings.windowed:
            panel.resize(1024, 400)
            panel.show()
        else:
            panel.showFullScreen()
        code = app.exec()
        connection.stop()
        return int(code)

    from counter.rating_window import RatingWindow
    from counter.window import CounterWindow

    connection = Connection(settings.server_url, None, scope="counter")
    model = CounterModel(connection, settings.state_file)
    window = CounterWindow(model, settings.server_url)
    save_snapshots(window, "counter")
    # The rating window may still be open on the citizen's screen: closing the officer's window ends the app.
    window.closed.connect(app.quit)
    if settings.windowed:
        window.resize(1280, 760)
        window.show()
    else:
        window.showMaximized()
    if settings.rating_window != "off":
        screens = app.screens()  # type: ignore[attr-defined]
        second = screens[1] if len(screens) > 1 and settings.rating_window == "auto" else None
        rating = RatingWindow(model, settings.rating_seconds, dedicated=second is not None)
        model.rating_requested.connect(rating.ask)
        save_snapshots(rating, "counter-rating")
        if second is not None:
            rating.setScreen(second)
            rating.move(second.geometry().topLeft())
            rating.showFullScreen()
        else:
            rating.resize(1024, 640)
    code = app.exec()
    connection.stop()
    return int(code)
