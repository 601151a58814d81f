"""UI strings of the money pages (merged into ``i18n.STRINGS``); every key in both languages."""

from __future__ import annotations

ZH: dict[str, str] = {}
EN: dict[str, str] = {}
