"""Spoken calls: a queue of announcements played clip after clip with QtMultimedia, never two at
once and never dropped. Each announcement is the chime, then the call read from the voice pack
`repeat` times. A clip missing from the pack is reported and skipped; the rest still plays."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

from display.numbers import OddWord
from display.voicepack import VoicePack, VoiceStyle, clips_for_announcement

log = logging.getLogger(__name__)

# A clip that neither ends nor fails within this long (a stuck audio device) is skipped.
CLIP_WATCHDOG_SECONDS = 8.0


@dataclass(frozen=True)
class Announcement:
    label: str
    counter_number: int
    clips: tuple[str, ...]


class Announcer(QObject):
    started = Signal(object)  # Announcement
    finished = Signal(object)  # Announcement
    clip_played = Signal(str)  # the key of each clip as it starts
    clip_missing = Signal(str)

    def __init__(
        self,
        pack: VoicePack | None,
        *,
        repeat: int = 2,
        digit_by_digit: bool = False,
        odd_word: OddWord = "linh",
        playback_rate: float = 1.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.pack = pack
        # Used when a call comes without the centre's style.
        self.style = VoiceStyle(repeat, digit_by_digit, odd_word)
        self.queue: deque[Announcement] = deque()
        self.current: Announcement | None = None
        self._clips: deque[str] = deque()
        # True while a clip plays: an error and an end-of-media status for the same clip must
        # advance the sequence only once.
        self._playing = False
        self.output = QAudioOutput(self)
        self.player = QMediaPlayer(self)
        self.player.setAudioOutput(self.output)
        self.player.setPlaybackRate(playback_rate)
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.errorOccurred.connect(self._on_error)
        self._watchdog = QTimer(self, singleShot=True)
        self._watchdog.timeout.connect(self._next_clip)

    def clips_for(self, label: str, counter_number: int, style: VoiceStyle | None = None) -> tuple[str, ...]:
        return tuple(clips_for_announcement(label, counter_number, style or self.style))

    def say_call(self, label: str, counter_number: int, style: VoiceStyle | None = None) -> Announcement:
        announcement = Announcement(label, counter_number, self.clips_for(label, counter_number, style))
        self.queue.append(announcement)
        if self.current is None:
            self._next_announcement()
        return announcement

    def stop(self) -> None:
        """Say nothing more: the waiting announcements are dropped and the clip playing stops.
        Before the window goes: a player left decoding in its own threads while Qt deletes it
        can crash the process."""
        self.queue.clear()
        self._clips.clear()
        self._watchdog.stop()
        self._playing = False
        self.current = None
        self.player.stop()
        self.player.setSource(QUrl())

    @property
    def idle(self) -> bool:
        return self.current is None and not self.queue

    def _next_announcement(self) -> None:
        if self.current is not None:
            self.finished.emit(self.current)
            self.current = None
        if not self.queue:
            return
        self.current = self.queue.popleft()
        self._clips = deque(self.current.clips)
        self.started.emit(self.current)
        self._next_clip()

    def _next_clip(self) -> None:
        self._watchdog.stop()
        self._playing = False
        while self._clips:
            key = self._clips.popleft()
            path = self.pack.path_for(key) if self.pack is not None else None
            if path is None:
                log.warning("voice pack has no clip for %r; skipping it", key)
                self.clip_missing.emit(key)
                continue
            self.clip_played.emit(key)
            self.player.setSource(QUrl.fromLocalFile(str(path)))
            self._playing = True
            self.player.play()
            self._watchdog.start(int(CLIP_WATCHDOG_SECONDS * 1000))
            return
        # Queued so that a listener of `finished` may call say_call without re-entering here.
        QTimer.singleShot(0, self._next_announcement)

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status in (QMediaPlayer.MediaStatus.EndOfMedia, QMediaPlayer.MediaStatus.InvalidMedia) and self._playing:
            self._next_clip()

    def _on_error(self, error: QMediaPlayer.Error, text: str) -> None:
        log.warning("could not play a clip: %s %s", error, text)
        if self._playing:
            self._next_clip()
