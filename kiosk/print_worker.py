"""Printing off the GUI thread: a worker object in its own QThread renders and sends each ticket
and probes the printer, so a slow or dead printer never freezes the touch screen."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from kiosk.printer import PrinterConfig, PrintError, PrinterState, TicketPrinter
from kiosk.ticket_image import TicketContent, render_ticket

log = logging.getLogger(__name__)

STATE_TEXT = {
    PrinterState.OK: "Máy in sẵn sàng",
    PrinterState.OFFLINE: "Máy in không kết nối được",
    PrinterState.PAPER_OUT: "Máy in hết giấy",
    PrinterState.PAPER_LOW: "Máy in sắp hết giấy",
    PrinterState.ERROR: "Máy in gặp lỗi",
}


@dataclass(frozen=True)
class PrintOutcome:
    job: int
    printed: bool
    state: str
    message: str


class _Worker(QObject):
    done = Signal(object)  # PrintOutcome
    probed = Signal(str)  # PrinterState value

    def __init__(self, config: PrinterConfig) -> None:
        super().__init__()
        self.printer = TicketPrinter(config)
        self.width = config.width_dots

    @Slot(int, object)
    def print_ticket(self, job: int, content: TicketContent) -> None:
        try:
            self.printer.print_image(render_ticket(content, self.width))
        except PrintError as error:
            self.done.emit(PrintOutcome(job, False, str(error.state), error.message))
            return
        except Exception as error:  # a driver bug must not kill the kiosk; the number is on screen
            log.exception("printing failed")
            self.done.emit(PrintOutcome(job, False, str(PrinterState.ERROR), f"Lỗi máy in: {error}"))
            return
        # The job went out; a near-empty roll is still worth telling the admins.
        self.done.emit(PrintOutcome(job, True, str(self.printer.last_state), ""))

    @Slot()
    def probe(self) -> None:
        try:
            state = self.printer.status()
        except Exception:
            log.exception("printer probe failed")
            state = PrinterState.ERROR
        self.probed.emit(str(state))


class PrintService(QObject):
    """Owns the printer thread. `print_ticket` queues a job; `finished` reports it; `state_changed`
    follows the printer (probed every PROBE_SECONDS, more often while it is faulty)."""

    finished = Signal(object)  # PrintOutcome
    state_changed = Signal(str)
    _start_job = Signal(int, object)
    _probe = Signal()

    PROBE_SECONDS = 60.0
    FAULT_PROBE_SECONDS = 5.0

    def __init__(self, config: PrinterConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.enabled = config.kind != "none"
        self.state = str(PrinterState.OK) if self.enabled else ""
        self.busy = False
        self._jobs = 0
        self._thread = QThread()
        self._worker = _Worker(config)
        self._worker.moveToThread(self._thread)
        self._start_job.connect(self._worker.print_ticket)
        self._probe.connect(self._worker.probe)
        self._worker.done.connect(self._on_done)
        self._worker.probed.connect(self._set_state)
        self._thread.start()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.probe)
        if self.enabled:
            self._timer.start(int(self.PROBE_SECONDS * 1000))

    @property
    def faulty(self) -> bool:
        return self.state not in (str(PrinterState.OK), str(PrinterState.PAPER_LOW))

    def print_ticket(self, content: TicketContent) -> int:
        self._jobs += 1
        if not self.enabled:
            outcome = PrintOutcome(self._jobs, False, "", "Máy lấy số này không có máy in.")
            QTimer.singleShot(0, lambda: self.finished.emit(outcome))
            return self._jobs
        self.busy = True
        self._start_job.emit(self._jobs, content)
        return self._jobs

    def probe(self) -> None:
        if self.enabled and not self.busy:
            self._probe.emit()

    def shutdown(self) -> None:
        self._timer.stop()
        self._thread.quit()
        self._thread.wait(5000)

    def _on_done(self, outcome: PrintOutcome) -> None:
        self.busy = False
        self._set_state(outcome.state)
        self.finished.emit(outcome)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            log.info("printer state: %s → %s", self.state, state)
            self.state = state
            self.state_changed.emit(state)
        interval = self.FAULT_PROBE_SECONDS if self.faulty else self.PROBE_SECONDS
        if self.enabled and self._timer.interval() != int(interval * 1000):
            self._timer.start(int(interval * 1000))
